import { ZeroAddress } from "ethers";
import { type ChainAccounts, URI_SYSTEM } from "../domain/fhir-identity";
import type { ConsentEntity } from "../projection/consent.entity";
import { consentStatus } from "../consents/consent.mapper";
import { provisionClasses } from "../domain/consent-class";
import { ConsentEffect, PURPOSE_OF_USE_SYSTEM, purposeCodes } from "../domain/vocabulary";

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** A projected consent as a FHIR R4 Consent (scope patient-privacy). The resource id is the consentId without 0x. */
export function toFhirConsent(c: ConsentEntity, accounts: ChainAccounts, now = Math.floor(Date.now() / 1000)) {
  const status = consentStatus(c, now);
  return {
    resourceType: "Consent",
    id: c.consentId.slice(2),
    meta: { lastUpdated: iso(c.revokedAt ?? c.grantedAt) },
    identifier: [{ system: "urn:consentry:consent-id", value: c.consentId }],
    status: status === "active" || status === "not-yet-valid" ? "active" : "inactive",
    scope: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" }] },
    category: [{ coding: [{ system: "http://loinc.org", code: "59284-0", display: "Patient Consent" }] }],
    patient: { identifier: accounts.identifier(c.patient) },
    dateTime: iso(c.grantedAt),
    performer: [{ identifier: accounts.identifier(c.patient) }],
    policyRule: {
      coding: [
        {
          system: "http://terminology.hl7.org/CodeSystem/v3-ActCode",
          code: c.effect === ConsentEffect.Deny ? "OPTOUT" : "OPTIN",
        },
      ],
    },
    sourceReference: { identifier: { system: URI_SYSTEM, value: `urn:ethereum:tx:${c.grantedTx}` } },
    provision: {
      type: c.effect === ConsentEffect.Deny ? "deny" : "permit",
      period: {
        start: iso(Math.max(c.validFrom, c.grantedAt)),
        ...(c.revokedAt || c.validUntil ? { end: iso(Math.min(...[c.revokedAt, c.validUntil].filter((t): t is number => !!t))) } : {}),
      },
      ...(c.grantee === ZeroAddress
        ? {}
        : {
            actor: [
              {
                role: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP", display: "information recipient" }] },
                reference: { identifier: accounts.identifier(c.grantee) },
              },
            ],
          }),
      ...nonEmpty("purpose", purposeCodes(c.purposes).map((code) => ({ system: PURPOSE_OF_USE_SYSTEM, code }))),
      // FHIR resource types (the extensible binding) where the consent covers the whole type, then the categories.
      ...nonEmpty("class", provisionClasses(c.categories)),
    },
  };
}

/** `{ [key]: items }`, or nothing when there are none: FHIR JSON has no empty arrays. */
function nonEmpty<K extends string, T>(key: K, items: T[]): { [P in K]?: T[] } {
  return (items.length > 0 ? { [key]: items } : {}) as { [P in K]?: T[] };
}
