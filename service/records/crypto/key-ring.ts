import { Inject, Injectable } from "@nestjs/common";
import { randomBytes } from "node:crypto";
import { AppConfig } from "../../config/app-config";
import { associatedData, IV_BYTES, KEY_BYTES, open, seal, TAG_BYTES } from "./aes-gcm";
import type { WrappedKey } from "../record.repository";

/** The master key version new data keys are wrapped under. Rotation adds a version and re-wraps keys row by row. */
export const CURRENT_KEY_VERSION = 1;

/**
 * Envelope encryption: per-patient data keys, each wrapped by the master key (MASTER_KEY) with
 * AES-256-GCM. The wrap is bound to the patient and key version, so a wrapped key copied to another
 * patient's row does not unwrap. Plain data keys live only in memory, for one operation.
 */
@Injectable()
export class KeyRing {
  private readonly masterKeys: ReadonlyMap<number, Buffer>;

  constructor(@Inject(AppConfig) config: Pick<AppConfig, "MASTER_KEY">) {
    // Fail at boot rather than at the first write: without it no record can be stored or read.
    if (!config.MASTER_KEY) throw new Error("MASTER_KEY is required: it wraps the per-patient record keys");
    this.masterKeys = new Map([[CURRENT_KEY_VERSION, Buffer.from(config.MASTER_KEY.replace(/^0x/, ""), "hex")]]);
  }

  /** A fresh random data key for `patient`, and its wrapped form for storage. */
  newDataKey(patient: string): WrappedKey & { key: Buffer } {
    const key = randomBytes(KEY_BYTES);
    const sealed = seal(this.master(CURRENT_KEY_VERSION), key, wrapAad(patient, CURRENT_KEY_VERSION));
    return { key, wrappedKey: Buffer.concat([sealed.iv, sealed.authTag, sealed.ciphertext]), keyVersion: CURRENT_KEY_VERSION };
  }

  unwrap(patient: string, { wrappedKey, keyVersion }: WrappedKey): Buffer {
    const sealed = {
      iv: wrappedKey.subarray(0, IV_BYTES),
      authTag: wrappedKey.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
      ciphertext: wrappedKey.subarray(IV_BYTES + TAG_BYTES),
    };
    return open(this.master(keyVersion), sealed, wrapAad(patient, keyVersion), "The patient's data key");
  }

  private master(version: number): Buffer {
    const key = this.masterKeys.get(version);
    if (!key) throw new Error(`No master key of version ${version} is configured`);
    return key;
  }
}

const wrapAad = (patient: string, keyVersion: number) => associatedData("consentry:data-key:v1", patient.toLowerCase(), keyVersion);
