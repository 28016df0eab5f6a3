import type { ChainAccounts } from "../domain/fhir-identity";
import { PURPOSE_OF_USE_SYSTEM, purposeCodes } from "../domain/vocabulary";
import { ZERO_ADDRESS } from "../audit/access-event";
import { AccessAction, AccessDecision, isReleasing } from "../domain/access-codes";
import type { AccessEventEntity } from "../audit/audit.entities";

const BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";

/** FHIR restful interaction, audit action code and BALP profile per access action. */
const INTERACTION: Record<AccessAction, { subtype: string; action: string; profile: string }> = {
  [AccessAction.RecordRead]: { subtype: "read", action: "R", profile: "IHE.BasicAudit.PatientRead" },
  [AccessAction.RecordSearch]: { subtype: "search-type", action: "E", profile: "IHE.BasicAudit.PatientQuery" },
  [AccessAction.RecordWrite]: { subtype: "update", action: "U", profile: "IHE.BasicAudit.PatientUpdate" },
  [AccessAction.ConsentDecision]: { subtype: "operation", action: "E", profile: "IHE.BasicAudit.PatientQuery" },
  [AccessAction.ConsentGrant]: { subtype: "create", action: "C", profile: "IHE.BasicAudit.PatientCreate" },
  [AccessAction.ConsentRevoke]: { subtype: "update", action: "U", profile: "IHE.BasicAudit.PatientUpdate" },
  [AccessAction.PatientErase]: { subtype: "delete", action: "D", profile: "IHE.BasicAudit.PatientDelete" },
};

/** An access event as a FHIR R4 AuditEvent following IHE Basic Audit Log Patterns (BALP). */
export function toFhirAuditEvent(e: AccessEventEntity, accounts: ChainAccounts) {
  const interaction = INTERACTION[e.action as AccessAction];
  const released = isReleasing(e.decision);
  const refused = !released && e.decision !== AccessDecision.Recorded;
  const breakGlass = e.decision === AccessDecision.BreakGlass;
  return {
    resourceType: "AuditEvent",
    id: e.id,
    meta: {
      profile: [BALP + interaction.profile],
      ...(breakGlass ? { security: [{ system: PURPOSE_OF_USE_SYSTEM, code: "ETREAT", display: "emergency treatment (break-glass)" }] } : {}),
    },
    type: { system: "http://terminology.hl7.org/CodeSystem/audit-event-type", code: "rest", display: "Restful Operation" },
    subtype: [{ system: "http://hl7.org/fhir/restful-interaction", code: interaction.subtype }],
    action: interaction.action,
    recorded: new Date(e.timeMs).toISOString(),
    outcome: refused ? "4" : "0",
    ...(refused ? { outcomeDesc: e.decision === AccessDecision.Unavailable ? "consent state unavailable" : "refused" } : {}),
    purposeOfEvent: purposeCodes(e.purposes).map((code) => ({ coding: [{ system: PURPOSE_OF_USE_SYSTEM, code }] })),
    agent: [
      {
        type: { coding: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "110153", display: "Source Role ID" }] },
        who: { identifier: accounts.identifier(e.actor) },
        requestor: true,
      },
    ],
    source: {
      observer: { display: "Consentry" },
      type: [{ system: "http://terminology.hl7.org/CodeSystem/security-source-type", code: "4", display: "Application Server" }],
    },
    entity: [
      ...(e.patient !== ZERO_ADDRESS
        ? [{ what: { identifier: accounts.identifier(e.patient) }, role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "1", display: "Patient" } }]
        : []),
      ...(e.resourceType && e.resourceId
        ? [{ what: { reference: `${e.resourceType}/${e.resourceId}` }, role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "4", display: "Domain Resource" } }]
        : []),
      {
        what: { identifier: { system: "urn:consentry:access-event", value: `${e.seq}` } },
        description: breakGlass && e.justification ? `Break-glass justification: ${e.justification}` : undefined,
        detail: [
          { type: "leaf", valueString: e.leaf },
          ...(e.batchId !== null ? [{ type: "batch", valueString: String(e.batchId) }] : []),
        ],
      },
    ],
  };
}
