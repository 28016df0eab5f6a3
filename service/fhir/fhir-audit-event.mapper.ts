import { ZERO_ADDRESS, ZERO_HASH } from "../audit/access-event";
import type { AccessEventEntity } from "../audit/audit.entities";
import { AccessAction, AccessDecision, DECISION_NAMES, isReleasing } from "../domain/access-codes";
import { RESOURCE_TYPE_SYSTEM } from "../domain/consent-class";
import { type ChainAccounts, URI_SYSTEM } from "../domain/fhir-identity";
import { categoryCodes, PURPOSE_OF_USE_SYSTEM, purposeCodes } from "../domain/vocabulary";

/**
 * Access events as FHIR R4 AuditEvents following IHE Basic Audit Log Patterns (BALP 1.1). docs/balp.md says
 * which profile each kind of event claims, how each required element and slice is filled, and what the trail
 * cannot say (and so what is left out).
 *
 * One AuditEvent per access: a search or a history read decides (and records) each data category on its own,
 * so the trail events of one such request are mapped together (see `groupAccesses`), each named in an
 * `access-event` extension with what anchors it.
 */

export const BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";
export const ACCESS_EVENT_EXTENSION = "urn:consentry:fhir:extension:access-event";

const DCM = "http://dicom.nema.org/resources/ontology/DCM";
const PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role";
const OUTCOME = { success: "0", minor: "4", serious: "8" } as const;

const BREAK_GLASS = { system: PURPOSE_OF_USE_SYSTEM, code: "BTG", display: "break the glass" };
const DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

type Json = Record<string, unknown>;
type Kind = "read" | "query" | "create" | "update" | "write" | "delete" | "authz";

/** What the mapper needs beyond the events themselves. */
export interface AuditEventContext {
  accounts: ChainAccounts;
  /** The service's public base URL: the server agent, the observer, absolute ids. */
  baseUrl: string;
  /** The record version a write created, by event id, when the record store still holds it. */
  writeVersions?: ReadonlyMap<string, number>;
  /** Whether the caller may not learn the event's subject (an institution's own refused read by id). */
  hidesSubject?: (e: AccessEventEntity) => boolean;
}

/** Actions whose one request may record an event per data category. */
const PER_CATEGORY: ReadonlySet<number> = new Set([AccessAction.RecordRead, AccessAction.RecordSearch]);
/** Events of one request are recorded together: within this of each other. */
const SAME_REQUEST_MS = 1_000;

/**
 * Splits events (in seq order) into accesses: consecutive events of one search or history read — same caller,
 * subject, resource and purposes, within a second, each about other categories — form one access; every other
 * event is one on its own.
 */
export function groupAccesses(events: readonly AccessEventEntity[]): AccessEventEntity[][] {
  const groups: AccessEventEntity[][] = [];
  let mask = 0;
  for (const e of events) {
    const group = groups[groups.length - 1];
    const last = group?.[group.length - 1];
    if (
      last &&
      PER_CATEGORY.has(e.action) &&
      e.seq === last.seq + 1 &&
      e.action === last.action &&
      e.actor === last.actor &&
      e.requester === last.requester &&
      e.patient === last.patient &&
      e.purposes === last.purposes &&
      e.resourceType === last.resourceType &&
      e.resourceId === last.resourceId &&
      Math.abs(e.timeMs - last.timeMs) <= SAME_REQUEST_MS &&
      e.categories !== 0 &&
      (e.categories & mask) === 0
    ) {
      group.push(e);
      mask |= e.categories;
      continue;
    }
    groups.push([e]);
    mask = e.categories;
  }
  return groups;
}

/** One access (one trail event, or the per-category events of one search or history read) as a BALP AuditEvent. */
export function toFhirAuditEvent(access: AccessEventEntity | readonly AccessEventEntity[], ctx: AuditEventContext): Json {
  const events = Array.isArray(access) ? (access as readonly AccessEventEntity[]) : [access as AccessEventEntity];
  const first = events[0];
  const released = events.some((e) => isReleasing(e.decision) || e.decision === AccessDecision.Recorded);
  const decisive = released ? first : (events.find((e) => e.decision === AccessDecision.Deny) ?? first);
  const breakGlass = events.some((e) => e.decision === AccessDecision.BreakGlass);
  const hidden = ctx.hidesSubject?.(first) ?? false;
  const patient = !hidden && first.patient !== ZERO_ADDRESS ? first.patient : null;
  const kind = kindOf(first, ctx);
  const failure = released ? null : failureOf(decisive);
  const purposes = [...purposeCodes(first.purposes).map((code) => ({ system: PURPOSE_OF_USE_SYSTEM, code })), ...(breakGlass ? [BREAK_GLASS] : [])];

  const body = kind === "authz" ? authorization(first, patient, purposes, failure, ctx) : rest(kind, first, patient, purposes, failure, ctx);
  const resource: Json = {
    resourceType: "AuditEvent",
    id: first.id,
    meta: {
      profile: body.profile ? [BALP + body.profile] : [],
      security: breakGlass ? [BREAK_GLASS] : [],
    },
    // Contained only where an entity refers to it (a claimed AuthZconsent deny has no room for it).
    ...(failure && (body.fields.entity as Json[]).some((x) => x === OUTCOME_ENTITY) ? { contained: [operationOutcome(failure)] } : {}),
    extension: events.map((e) => accessEventExtension(e, hidden)),
    ...body.fields,
    recorded: new Date(Math.min(...events.map((e) => e.timeMs))).toISOString(),
    outcome: failure ? failure.outcome : OUTCOME.success,
    outcomeDesc: failure ? failure.description : withheldDescription(events),
    purposeOfEvent: purposes.map((coding) => ({ coding: [coding] })),
  };
  return withoutEmpty(resource) as Json;
}

/** Which BALP pattern an event follows. */
function kindOf(e: AccessEventEntity, ctx: AuditEventContext): Kind {
  switch (e.action as AccessAction) {
    case AccessAction.RecordRead:
      return "read";
    case AccessAction.RecordSearch:
      return "query";
    case AccessAction.RecordWrite: {
      const version = ctx.writeVersions?.get(e.id);
      return version === undefined ? "write" : version === 1 ? "create" : "update";
    }
    case AccessAction.ConsentGrant:
      return "create";
    case AccessAction.ConsentRevoke:
      return "update";
    case AccessAction.PatientErase:
      return "delete";
    case AccessAction.ConsentDecision:
      return "authz";
  }
  return "write";
}

interface Failure {
  outcome: string;
  description: string;
  /** OperationOutcome.issue.code (http://hl7.org/fhir/issue-type). */
  issue: string;
}

/** A refused access: minor failure (4) for a refusal by the rules or an invalid request, serious (8) when consent state was unavailable. */
function failureOf(e: AccessEventEntity): Failure {
  switch (e.decision as AccessDecision) {
    case AccessDecision.Deny:
      return { outcome: e.action === AccessAction.ConsentDecision ? OUTCOME.serious : OUTCOME.minor, description: "The patient's consent denies this access", issue: "forbidden" };
    case AccessDecision.NoConsent:
      return { outcome: OUTCOME.minor, description: "No active consent permits this access", issue: "forbidden" };
    case AccessDecision.Unavailable:
      return { outcome: OUTCOME.serious, description: "Consent state could not be established, so nothing was released", issue: "transient" };
    default:
      return { outcome: OUTCOME.minor, description: "The request was refused as invalid or not allowed", issue: "invalid" };
  }
}

/** A search or history read that released some categories and withheld others says which. */
function withheldDescription(events: readonly AccessEventEntity[]): string | undefined {
  const withheld = events.filter((e) => !isReleasing(e.decision) && e.decision !== AccessDecision.Recorded);
  if (withheld.length === 0) return undefined;
  return `Withheld: ${withheld.map((e) => `${categoryCodes(e.categories).join(", ") || "data"} (${DECISION_NAMES[e.decision as AccessDecision]})`).join("; ")}`;
}

/** The profile each REST pattern claims when it succeeds (BALP's REST profiles fix outcome to 0). */
const REST_PROFILES: Partial<Record<Kind, string>> = {
  read: "IHE.BasicAudit.PatientRead",
  query: "IHE.BasicAudit.PatientQuery",
  create: "IHE.BasicAudit.PatientCreate",
  update: "IHE.BasicAudit.PatientUpdate",
  delete: "IHE.BasicAudit.PatientDelete",
};

/** The profile for data of no patient (directory data: Organization, Practitioner, Location …). */
const NON_PATIENT_PROFILES: Partial<Record<Kind, string>> = {
  read: "IHE.BasicAudit.Read",
  query: "IHE.BasicAudit.Query",
  create: "IHE.BasicAudit.Create",
  update: "IHE.BasicAudit.Update",
};

/** restful-interaction subtype and action code per REST pattern. */
const INTERACTIONS: Partial<Record<Kind, { subtype: string; action: string }>> = {
  read: { subtype: "read", action: "R" },
  query: { subtype: "search-type", action: "E" },
  create: { subtype: "create", action: "C" },
  update: { subtype: "update", action: "U" },
  delete: { subtype: "delete", action: "D" },
};

/**
 * The REST patterns (Patient{Read,Query,Create,Update,Delete}): agents client, server and user; entities
 * patient, and data or query. The client and server roles follow BALP, whose DICOM heritage makes the client
 * the Destination (110152) of a read but the Source (110153) of a query, create or update, and an Application
 * (110150) beside a Custodian server for a delete.
 */
function rest(kind: Kind, e: AccessEventEntity, patient: string | null, purposes: Json[], failure: Failure | null, ctx: AuditEventContext) {
  const interaction = INTERACTIONS[kind];
  const client = kind === "read" ? dcm("110152", "Destination Role ID") : kind === "delete" ? dcm("110150", "Application") : dcm("110153", "Source Role ID");
  const server =
    kind === "read"
      ? dcm("110153", "Source Role ID")
      : kind === "delete"
        ? { system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "custodian", display: "Custodian" }
        : dcm("110152", "Destination Role ID");
  const data = dataEntity(kind, e, patient, ctx);
  const entities = [
    ...(patient ? [patientEntity(e, patient, ctx)] : []),
    ...(kind === "query" ? [queryEntity(e, patient, ctx)] : data ? [data] : []),
    ...(failure ? [outcomeEntity()] : []),
  ];
  // A profile is claimed only when every element it requires is there: a success, with the data (or query)
  // entity filled, about a known patient (Patient*) or about no patient at all (directory data).
  const complete = !failure && (kind === "query" || data !== null);
  const profile = !complete ? undefined : patient !== null ? REST_PROFILES[kind] : e.patient === ZERO_ADDRESS ? NON_PATIENT_PROFILES[kind] : undefined;
  return {
    profile,
    fields: {
      type: { system: "http://terminology.hl7.org/CodeSystem/audit-event-type", code: "rest", display: "Restful Operation" },
      subtype: interaction ? [{ system: "http://hl7.org/fhir/restful-interaction", code: interaction.subtype }] : [],
      ...(interaction ? { action: interaction.action } : {}),
      agent: [
        { type: { coding: [client] }, who: accountRef(e.actor, ctx), requestor: false, network: unknownNetwork() },
        { type: { coding: [server] }, who: serverRef(ctx), requestor: false, network: serverNetwork(ctx) },
        { type: { coding: [userType(kind, e)] }, who: accountRef(e.requester, ctx), requestor: true, purposeOfUse: purposes.map((coding) => ({ coding: [coding] })) },
      ],
      source: { observer: serverRef(ctx), type: [{ system: "http://terminology.hl7.org/CodeSystem/security-source-type", code: "4", display: "Application Server" }] },
      entity: entities,
    },
  };
}

/** The user's participation: the information recipient for reads and queries; for writes, who the data came from (BALP's DataSources). */
function userType(kind: Kind, e: AccessEventEntity): Json {
  if (kind === "read" || kind === "query") return { system: PARTICIPATION, code: "IRCP", display: "information recipient" };
  if (e.action === AccessAction.ConsentGrant || e.action === AccessAction.ConsentRevoke) {
    // The patient signed the consent; a relayer that submitted it informs.
    return e.actor === e.patient ? { system: PARTICIPATION, code: "AUT", display: "author (originator)" } : { system: PARTICIPATION, code: "INF", display: "informant" };
  }
  return { system: PARTICIPATION, code: "CST", display: "custodian" };
}

/**
 * IHE.BasicAudit.AuthZconsent: a consent decision by this service (the authorization server). Agents client
 * (the caller's application), user (the requester, who would receive the data), userorg (the requester's
 * organization: requesters are institutions) and authorizer (this service, also the source); entities
 * patient and consent only (BALP closes the slicing). Claimed when a consent decided (permit or deny) about a
 * known patient; NO_CONSENT and refused consults follow the pattern without the claim (no Consent to name).
 */
function authorization(e: AccessEventEntity, patient: string | null, purposes: Json[], failure: Failure | null, ctx: AuditEventContext) {
  const consent = e.consentId !== ZERO_HASH && (e.decision === AccessDecision.Permit || e.decision === AccessDecision.Deny) ? e.consentId : null;
  const decided = failure === null || e.decision === AccessDecision.Deny || e.decision === AccessDecision.NoConsent;
  const claim = patient !== null && consent !== null && decided;
  const requester = e.requester !== ZERO_ADDRESS ? accountRef(e.requester, ctx) : { display: "an actor known by no account" };
  return {
    profile: claim ? "IHE.BasicAudit.AuthZconsent" : undefined,
    fields: {
      type: dcm("110113", "Security Alert"),
      subtype: [{ system: "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType", code: "AuthZ-Consent", display: "Authorization Decision using Roles and Consent" }],
      action: "E",
      agent: [
        { type: { coding: [dcm("110150", "Application")] }, who: accountRef(e.actor, ctx), requestor: false, network: unknownNetwork() },
        { type: { coding: [{ system: PARTICIPATION, code: "IRCP", display: "information recipient" }] }, who: requester, requestor: true, purposeOfUse: purposes.map((coding) => ({ coding: [coding] })) },
        { type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-RoleClass", code: "PROV", display: "healthcare provider" }] }, who: requester, requestor: false },
        { type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/extra-security-role-type", code: "authserver", display: "authorization server" }] }, who: serverRef(ctx), requestor: false },
      ],
      source: { observer: serverRef(ctx), type: [{ system: "http://terminology.hl7.org/CodeSystem/security-source-type", code: "6", display: "Security Server" }] },
      entity: [
        ...(patient ? [patientEntity(e, patient, ctx)] : []),
        ...(consent ? [{ type: { system: RESOURCE_TYPE_SYSTEM, code: "Consent", display: "Consent" }, what: { reference: `Consent/${consent.slice(2)}` } }] : []),
        // The closed slicing of AuthZconsent admits no OperationOutcome: only unclaimed refusals carry one.
        ...(failure && !claim ? [outcomeEntity()] : []),
      ],
    },
  };
}

function patientEntity(e: AccessEventEntity, patient: string, ctx: AuditEventContext): Json {
  return {
    type: { system: ENTITY_TYPE, code: "1", display: "Person" },
    role: { system: OBJECT_ROLE, code: "1", display: "Patient" },
    // The patient's account (did:pkh) as a logical Patient reference, and the Patient record itself when the event is about it.
    what: {
      ...(e.resourceType === "Patient" && e.resourceId ? { reference: `Patient/${e.resourceId}` } : {}),
      type: "Patient",
      identifier: ctx.accounts.identifier(patient),
    },
  };
}

/** The record read, written (version-specific) or consent granted or revoked; for an erasure, every record of the patient. */
function dataEntity(kind: Kind, e: AccessEventEntity, patient: string | null, ctx: AuditEventContext): Json | null {
  const entity = (what: Json, description?: string) => ({
    type: { system: ENTITY_TYPE, code: "2", display: "System Object" },
    role: { system: OBJECT_ROLE, code: "4", display: "Domain Resource" },
    what,
    ...(description ? { description } : {}),
  });
  if (e.action === AccessAction.ConsentGrant || e.action === AccessAction.ConsentRevoke) {
    return e.consentId !== ZERO_HASH ? entity({ reference: `Consent/${e.consentId.slice(2)}` }) : null;
  }
  if (e.action === AccessAction.PatientErase) {
    return patient ? entity({ type: "Patient", identifier: ctx.accounts.identifier(patient) }, "Every record of the patient, crypto-shredded") : null;
  }
  if (!e.resourceType || !e.resourceId) return null;
  const version = ctx.writeVersions?.get(e.id);
  return entity({ reference: `${e.resourceType}/${e.resourceId}${(kind === "create" || kind === "update") && version ? `/_history/${version}` : ""}` });
}

/**
 * BALP's query slice (role 24): the trail keeps a salted hash of the request, not the request, so the query is
 * rebuilt from what was recorded — type, patient (as did:pkh) and purpose — base64 in `query`, plain in
 * `description`. A justification is never put back.
 */
function queryEntity(e: AccessEventEntity, patient: string | null, ctx: AuditEventContext): Json {
  const params = [
    ...(patient ? [`patient=${encodeURIComponent(ctx.accounts.did(patient))}`] : []),
    ...purposeCodes(e.purposes).map((code) => `purpose=${code}`),
  ];
  const search = `${e.resourceType ?? ""}${params.length ? `?${params.join("&")}` : ""}`;
  return {
    type: { system: ENTITY_TYPE, code: "2", display: "System Object" },
    role: { system: OBJECT_ROLE, code: "24", display: "Query" },
    description: search,
    query: Buffer.from(search, "utf8").toString("base64"),
  };
}

const OUTCOME_ID = "outcome";

/** The entity naming the contained OperationOutcome of a refused access. */
const OUTCOME_ENTITY: Json = Object.freeze({ type: { system: RESOURCE_TYPE_SYSTEM, code: "OperationOutcome", display: "OperationOutcome" }, what: { reference: `#${OUTCOME_ID}` } });

function outcomeEntity(): Json {
  return OUTCOME_ENTITY;
}

function operationOutcome(failure: Failure): Json {
  return { resourceType: "OperationOutcome", id: OUTCOME_ID, issue: [{ severity: "error", code: failure.issue, diagnostics: failure.description }] };
}

/** What anchors one trail event: its id, seq, leaf, batch once anchored, and the decision and categories it recorded. */
function accessEventExtension(e: AccessEventEntity, hidden: boolean): Json {
  const part = (url: string, value: Json) => ({ url, ...value });
  return {
    url: ACCESS_EVENT_EXTENSION,
    extension: [
      part("id", { valueUuid: `urn:uuid:${e.id}` }),
      part("seq", { valueString: String(e.seq) }),
      part("leaf", { valueString: e.leaf }),
      ...(e.batchId !== null ? [part("batch", { valueString: String(e.batchId) })] : []),
      part("decision", { valueCode: DECISION_NAMES[e.decision as AccessDecision] }),
      ...(hidden ? [] : categoryCodes(e.categories).map((code) => part("category", { valueCode: code }))),
      ...(!hidden && e.consentId !== ZERO_HASH ? [part("consent", { valueString: e.consentId })] : []),
      ...(e.decision === AccessDecision.BreakGlass && e.justification ? [part("justification", { valueString: e.justification })] : []),
    ],
  };
}

const dcm = (code: string, display: string) => ({ system: DCM, code, display });

function accountRef(address: string, ctx: AuditEventContext): Json {
  return { identifier: ctx.accounts.identifier(address) };
}

function serverRef(ctx: AuditEventContext): Json {
  return { identifier: { system: URI_SYSTEM, value: ctx.baseUrl }, display: "Consentry" };
}

/** The server as the network knows it: its public URL (network type 5, URI). */
function serverNetwork(ctx: AuditEventContext): Json {
  return { address: ctx.baseUrl, type: "5" };
}

/** The trail keeps no client network address (by design: accounts and hashes only), so the element says it is unsupported. */
function unknownNetwork(): Json {
  return { extension: [{ url: DATA_ABSENT, valueCode: "unsupported" }] };
}

/** FHIR JSON has no empty arrays, empty objects or nulls: they are dropped, recursively. */
export function withoutEmpty(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(withoutEmpty).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Json)
      .map(([k, v]) => [k, withoutEmpty(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value === null || value === "" ? undefined : value;
}
