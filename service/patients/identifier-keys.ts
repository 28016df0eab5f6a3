import { Inject, Injectable } from "@nestjs/common";
import { createHmac } from "node:crypto";
import { AppConfig } from "../config/app-config";
import type { PatientIdentifier } from "./enrolment.entity";

/**
 * Keyed hashes of patients' local identifiers (MRNs, national numbers …): what enrolments are looked up by,
 * so the identifiers themselves are never stored in the clear. HMAC-SHA256 under a key derived from
 * MASTER_KEY, so a copy of the database alone cannot test guesses against them.
 */
@Injectable()
export class IdentifierKeys {
  private readonly key: Buffer;

  constructor(@Inject(AppConfig) config: Pick<AppConfig, "MASTER_KEY">) {
    if (!config.MASTER_KEY) throw new Error("MASTER_KEY is required: it keys the identifier lookups");
    this.key = createHmac("sha256", Buffer.from(config.MASTER_KEY.replace(/^0x/, ""), "hex")).update("consentry:identifier-lookup:v1").digest();
  }

  of(identifier: PatientIdentifier): string {
    return createHmac("sha256", this.key).update(identifier.system).update("\u0000").update(identifier.value).digest("hex");
  }
}
