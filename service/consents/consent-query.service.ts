import { Injectable } from "@nestjs/common";
import { ZeroAddress } from "ethers";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { notFound } from "../common/problem";
import type { ConsentEntity } from "../projection/consent.entity";
import { ConsentProjectionRepository } from "../projection/consent-projection.repository";
import { toConsentView } from "./consent.mapper";
import type { ConsentViewDto } from "./consents.dto";

/** Consents as the projection holds them, scoped to who may see each. */
@Injectable()
export class ConsentQueryService {
  constructor(
    private readonly projection: ConsentProjectionRepository,
    private readonly authority: AuthorityService,
  ) {}

  async list(actor: Actor, patient?: string): Promise<ConsentViewDto[]> {
    const now = nowSeconds();
    return (await this.visible(actor, patient)).map((c) => toConsentView(c, now));
  }

  /** The consents the caller may see: of one patient, or else those naming the institution, or else its own. */
  async visible(actor: Actor, patient?: string): Promise<ConsentEntity[]> {
    if (patient) return (await this.projection.consentsOf(patient)).filter((c) => this.mayView(actor, c));
    if (this.authority.actorHolds(actor, "institution")) return this.projection.consentsByGrantee([actor.address, ZeroAddress]);
    return this.projection.consentsOf(actor.address);
  }

  async get(actor: Actor, consentId: string): Promise<ConsentViewDto> {
    return toConsentView(await this.findVisible(actor, consentId));
  }

  /** One consent the caller may see, else a 404 (a consent it may not see is not there for it). */
  async findVisible(actor: Actor, consentId: string): Promise<ConsentEntity> {
    const consent = await this.projection.findConsent(consentId);
    if (!consent || !this.mayView(actor, consent)) throw notFound("consent-not-found", `No consent ${consentId}`);
    return consent;
  }

  /** Patients see their own consents, grantees those naming them (or any institution), regulators all. */
  mayView(actor: Actor, c: ConsentEntity): boolean {
    const me = actor.address.toLowerCase();
    return (
      c.patient === me ||
      this.authority.actorHolds(actor, "regulator") ||
      (this.authority.actorHolds(actor, "institution") && (c.grantee === me || c.grantee === ZeroAddress))
    );
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
