import type { ConsentEntity } from "../projection/consent.entity";
import type { ConsentViewDto } from "./consents.dto";
import { categoryCodes, ConsentEffect, purposeCodes } from "../domain/vocabulary";

export function consentStatus(c: ConsentEntity, now: number): ConsentViewDto["status"] {
  if (c.revokedAt) return "revoked";
  if (c.validUntil !== 0 && now >= c.validUntil) return "expired";
  if (now < c.validFrom) return "not-yet-valid";
  return "active";
}

export function toConsentView(c: ConsentEntity, now = Math.floor(Date.now() / 1000)): ConsentViewDto {
  return {
    consentId: c.consentId,
    patient: c.patient,
    grantee: c.grantee,
    categories: c.categories,
    categoryCodes: categoryCodes(c.categories),
    purposes: c.purposes,
    purposeCodes: purposeCodes(c.purposes),
    effect: c.effect === ConsentEffect.Deny ? "deny" : "permit",
    validFrom: c.validFrom,
    validUntil: c.validUntil,
    status: consentStatus(c, now),
    grantedAt: c.grantedAt,
    revokedAt: c.revokedAt,
    grantedTx: c.grantedTx,
    grantedBlock: c.grantedBlock,
  };
}
