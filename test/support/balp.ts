/**
 * The IHE Basic Audit Log Patterns (BALP 1.1) profiles the service claims, encoded from their
 * StructureDefinitions (FSH sources in github.com/IHE/ITI.BasicAudit, input/fsh/*.fsh; published at
 * https://profiles.ihe.net/ITI/BALP/). Each rule cites the line of the definition it encodes. A check returns
 * the rules an AuditEvent breaks (empty: it conforms).
 */

type Json = Record<string, any>;
type Coding = { system?: string; code?: string };

const DCM = "http://dicom.nema.org/resources/ontology/DCM";
const ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role";
const PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const RESTFUL = "http://hl7.org/fhir/restful-interaction";

export const BALP_PREFIX = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";

const is = (c: Coding | undefined, system: string, code: string) => c?.system === system && c?.code === code;
const typeCoding = (agent: Json): Coding | undefined => agent?.type?.coding?.[0];
const agentsOfType = (e: Json, system: string, code: string) => (e.agent ?? []).filter((a: Json) => (a.type?.coding ?? []).some((c: Coding) => is(c, system, code)));
const entitiesOfType = (e: Json, system: string, code: string) => (e.entity ?? []).filter((x: Json) => is(x.type, system, code));

/** A REST profile's parameters: the interaction value set, the action and the agent types it fixes. */
interface RestProfile {
  subtypes: string[];
  action: string;
  client: Coding;
  server: Coding;
  /** user.type: fixed (Read/Query) or from a value set (Create/Update/Delete: DataSources). */
  userTypes: Coding[];
  /** data slice (Read/Create/Update/Delete) or query slice (Query). */
  slice: "data" | "query";
  patient: boolean;
}

const DATA_SOURCES = [
  // PatientCreate.fsh ValueSet DataSources: AUT, INF, CST.
  { system: PARTICIPATION, code: "AUT" },
  { system: PARTICIPATION, code: "INF" },
  { system: PARTICIPATION, code: "CST" },
];
const IRCP = { system: PARTICIPATION, code: "IRCP" };

export const REST_PROFILES: Record<string, RestProfile> = {
  // PatientRead.fsh: subtype[anyRead] from AllReadVS (read, vread); action = #R; agent[client].type = DCM#110152;
  // agent[server].type = DCM#110153; agent[user].type = IRCP; entity contains data 1..1; PatientRead: patient 1..1.
  "IHE.BasicAudit.PatientRead": { subtypes: ["read", "vread"], action: "R", client: { system: DCM, code: "110152" }, server: { system: DCM, code: "110153" }, userTypes: [IRCP], slice: "data", patient: true },
  "IHE.BasicAudit.Read": { subtypes: ["read", "vread"], action: "R", client: { system: DCM, code: "110152" }, server: { system: DCM, code: "110153" }, userTypes: [IRCP], slice: "data", patient: false },
  // PatientQuery.fsh: subtype[anySearch] from AllSearchVS (search, search-type, search-system); action = #E;
  // agent[client].type = DCM#110153; agent[server].type = DCM#110152; entity contains query 1..1; patient 1..1.
  "IHE.BasicAudit.PatientQuery": { subtypes: ["search", "search-type", "search-system"], action: "E", client: { system: DCM, code: "110153" }, server: { system: DCM, code: "110152" }, userTypes: [IRCP], slice: "query", patient: true },
  "IHE.BasicAudit.Query": { subtypes: ["search", "search-type", "search-system"], action: "E", client: { system: DCM, code: "110153" }, server: { system: DCM, code: "110152" }, userTypes: [IRCP], slice: "query", patient: false },
  // PatientCreate.fsh: subtype[anyCreate] = restful-interaction#create; action = #C; client DCM#110153; server DCM#110152;
  // agent[user].type from DataSources (required); data 1..1; PatientCreate: patient 1..1.
  "IHE.BasicAudit.PatientCreate": { subtypes: ["create"], action: "C", client: { system: DCM, code: "110153" }, server: { system: DCM, code: "110152" }, userTypes: DATA_SOURCES, slice: "data", patient: true },
  "IHE.BasicAudit.Create": { subtypes: ["create"], action: "C", client: { system: DCM, code: "110153" }, server: { system: DCM, code: "110152" }, userTypes: DATA_SOURCES, slice: "data", patient: false },
  // PatientUpdate.fsh: subtype[anyUpdate] from AllUpdateVS (update, patch); action = #U; client DCM#110153; server DCM#110152.
  "IHE.BasicAudit.PatientUpdate": { subtypes: ["update", "patch"], action: "U", client: { system: DCM, code: "110153" }, server: { system: DCM, code: "110152" }, userTypes: DATA_SOURCES, slice: "data", patient: true },
  "IHE.BasicAudit.Update": { subtypes: ["update", "patch"], action: "U", client: { system: DCM, code: "110153" }, server: { system: DCM, code: "110152" }, userTypes: DATA_SOURCES, slice: "data", patient: false },
  // PatientDelete.fsh: subtype[anyDelete] = restful-interaction#delete; action = #D; agent[client].type = DCM#110150 (Application);
  // agent[server].type = provenance-participant-type#custodian.
  "IHE.BasicAudit.PatientDelete": {
    subtypes: ["delete"],
    action: "D",
    client: { system: DCM, code: "110150" },
    server: { system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "custodian" },
    userTypes: DATA_SOURCES,
    slice: "data",
    patient: true,
  },
};

/** Rules every REST profile shares (PatientRead.fsh … PatientDelete.fsh, identical in each). */
function checkRest(e: Json, p: RestProfile): string[] {
  const broken: string[] = [];
  const rule = (ok: boolean, text: string) => void (ok || broken.push(text));
  rule(is(e.type, "http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"), "type = audit-event-type#rest");
  rule((e.subtype ?? []).length >= 1, "subtype 1..");
  rule((e.subtype ?? []).filter((c: Coding) => c.system === RESTFUL && p.subtypes.includes(c.code!)).length === 1, `subtype contains any… 1..1 from ${p.subtypes.join("|")}`);
  rule(e.action === p.action, `action = #${p.action}`);
  rule(typeof e.recorded === "string", "recorded 1..1");
  rule(e.outcome === "0", "outcome = audit-event-outcome#0, outcome 1..");
  rule((e.agent ?? []).length >= 2, "agent 2..");
  const clients = agentsOfType(e, p.client.system!, p.client.code!);
  rule(clients.length === 1, "agent contains client 1..1 (agent[client].type fixed)");
  for (const c of clients) {
    rule(!!c.who, "agent[client].who 1..1");
    rule(!!c.network, "agent[client].network 1..1");
    rule(c.media === undefined, "agent[client].media 0..0");
  }
  const servers = agentsOfType(e, p.server.system!, p.server.code!);
  rule(servers.length === 1, "agent contains server 1..1 (agent[server].type fixed)");
  for (const s of servers) {
    rule(!!s.who, "agent[server].who 1..1");
    rule(!!s.network, "agent[server].network 1..1");
    rule(s.media === undefined, "agent[server].media 0..0");
  }
  const users = (e.agent ?? []).filter((a: Json) => p.userTypes.some((t) => is(typeCoding(a), t.system!, t.code!)));
  rule(users.length <= 1, "agent contains user 0..1");
  for (const u of users) {
    rule(!!u.who, "agent[user].who 1..1");
    rule(u.requestor === true, "agent[user].requestor = true");
    rule(u.network === undefined, "agent[user].network 0..0");
    rule(u.media === undefined, "agent[user].media 0..0");
  }
  rule((e.entity ?? []).length >= (p.patient ? 2 : 1), `entity ${p.patient ? 2 : 1}..`);
  if (p.slice === "data") {
    const data = entitiesOfType(e, ENTITY_TYPE, "2");
    rule(data.length === 1, "entity contains data 1..1 (entity[data].type = audit-entity-type#2)");
    for (const d of data) {
      rule(["4", "3", "20"].some((code) => is(d.role, OBJECT_ROLE, code)), "entity[data].role from RestObjectRoles (required)");
      rule(!!d.what, "entity[data].what 1..1");
    }
  } else {
    const queries = entitiesOfType(e, ENTITY_TYPE, "2").filter((x: Json) => is(x.role, OBJECT_ROLE, "24"));
    rule(queries.length === 1, "entity contains query 1..1 (type audit-entity-type#2, role object-role#24)");
    for (const q of queries) {
      rule(q.what === undefined, "entity[query].what 0..0");
      rule(q.lifecycle === undefined, "entity[query].lifecycle 0..0");
      rule(typeof q.query === "string" && /^[A-Za-z0-9+/]+={0,2}$/.test(q.query), "entity[query].query 1..1 (base64Binary)");
      rule(q.detail === undefined, "entity[query].detail 0..0");
    }
  }
  if (p.patient) broken.push(...checkPatientSlice(e));
  return broken;
}

/** Patient*.fsh: entity[patient] 1..1, type = audit-entity-type#1, role = object-role#1, what 1..1 only Reference(Patient). */
function checkPatientSlice(e: Json): string[] {
  const broken: string[] = [];
  const patients = entitiesOfType(e, ENTITY_TYPE, "1");
  if (patients.length !== 1) broken.push("entity contains patient 1..1 (entity[patient].type = audit-entity-type#1)");
  for (const p of patients) {
    if (!is(p.role, OBJECT_ROLE, "1")) broken.push("entity[patient].role = object-role#1");
    if (!p.what) broken.push("entity[patient].what 1..1");
    else if (!isPatientReference(p.what)) broken.push("entity[patient].what only Reference(Patient)");
  }
  return broken;
}

/** A Reference to a Patient: a literal Patient/{id}, or a logical one typed Patient. */
export function isPatientReference(what: Json): boolean {
  return (typeof what.reference === "string" && /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(what.reference)) || (what.type === "Patient" && !!what.identifier?.value);
}

/**
 * AuthZ.fsh, Profile AuthZconsent: modifierExtension 0..0; type = DCM#110113; subtype from AuthZsubTypeVS 1..;
 * action = #E; recorded 1..1; outcome 1..1; agent 2..* sliced client 1..1 (DCM#110150, who 1..1, network 1..1,
 * role/altId/name/location/media/purposeOfUse 0..0), user 1..1 (IRCP, who 1..1, requestor = true,
 * altId/location/media/network 0..0), userorg 1..1 (v3-RoleClass#PROV, who 1..1, requestor = false,
 * role/altId/name/location/policy/media/network 0..0), authorizer 1..1 (extra-security-role-type#authserver,
 * obeys val-audit-source: who = source.observer, requestor = false, role/altId/name/location/policy/media/network/
 * purposeOfUse 0..0); entity 2..* with CLOSED slicing: patient 1..1 (audit-entity-type#1, object-role#1, what 1..1
 * only Reference(Patient)), consent 1..* (type = resource-types#Consent, what 1..1), token 0..1.
 */
export function checkAuthZconsent(e: Json): string[] {
  const broken: string[] = [];
  const rule = (ok: boolean, text: string) => void (ok || broken.push(text));
  const zero = (a: Json, fields: string[], slice: string) => fields.forEach((f) => rule(a[f] === undefined, `agent[${slice}].${f} 0..0`));
  rule(e.modifierExtension === undefined, "modifierExtension 0..0");
  rule(is(e.type, DCM, "110113"), "type = DCM#110113");
  rule((e.subtype ?? []).length >= 1 && e.subtype.every((c: Coding) => c.system === "https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType"), "subtype from AuthZsubTypeVS, 1..");
  rule(e.action === "E", "action = #E");
  rule(typeof e.recorded === "string", "recorded 1..1");
  rule(typeof e.outcome === "string", "outcome 1..1");
  rule((e.agent ?? []).length >= 2, "agent 2..*");
  const one = (list: Json[], text: string) => (rule(list.length === 1, text), list[0] ?? {});
  const client = one(agentsOfType(e, DCM, "110150"), "agent contains client 1..1");
  rule(!!client.who && !!client.network, "agent[client].who 1..1, network 1..1");
  zero(client, ["role", "altId", "name", "location", "media", "purposeOfUse"], "client");
  const user = one(agentsOfType(e, PARTICIPATION, "IRCP"), "agent contains user 1..1");
  rule(!!user.who && user.requestor === true, "agent[user].who 1..1, requestor = true");
  zero(user, ["altId", "location", "media", "network"], "user");
  const org = one(agentsOfType(e, "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV"), "agent contains userorg 1..1");
  rule(!!org.who && org.requestor === false, "agent[userorg].who 1..1, requestor = false");
  zero(org, ["role", "altId", "name", "location", "policy", "media", "network"], "userorg");
  const authorizer = one(agentsOfType(e, "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "authserver"), "agent contains authorizer 1..1");
  rule(!!authorizer.who && authorizer.requestor === false, "agent[authorizer].who 1..1, requestor = false");
  rule(JSON.stringify(authorizer.who) === JSON.stringify(e.source?.observer), "agent[authorizer] obeys val-audit-source ($this.who = %resource.source.observer)");
  zero(authorizer, ["role", "altId", "name", "location", "policy", "media", "network", "purposeOfUse"], "authorizer");
  rule((e.entity ?? []).length >= 2, "entity 2..*");
  const consents = entitiesOfType(e, "http://hl7.org/fhir/resource-types", "Consent");
  rule(consents.length >= 1 && consents.every((c: Json) => !!c.what), "entity contains consent 1..* (type = resource-types#Consent, what 1..1)");
  const patients = entitiesOfType(e, ENTITY_TYPE, "1");
  rule(patients.length + consents.length === (e.entity ?? []).length, "entity slicing is closed (patient, consent, token only)");
  broken.push(...checkPatientSlice(e));
  return broken;
}

/** The rules the profile an AuditEvent claims sets, broken; an AuditEvent claiming no BALP profile has none to break. */
export function balpViolations(e: Json): string[] {
  const claimed = ((e.meta?.profile ?? []) as string[]).filter((p) => p.startsWith(BALP_PREFIX)).map((p) => p.slice(BALP_PREFIX.length));
  return claimed.flatMap((name) => {
    if (name === "IHE.BasicAudit.AuthZconsent") return checkAuthZconsent(e).map((r) => `${name}: ${r}`);
    const profile = REST_PROFILES[name];
    return profile ? checkRest(e, profile).map((r) => `${name}: ${r}`) : [`${name}: not a profile this test knows`];
  });
}

/**
 * FHIR R4 JSON rules every AuditEvent must keep, claimed profile or not: no empty arrays, empty objects or nulls
 * (FHIR JSON, §"JSON representation": "arrays SHALL not be empty", ele-1); every agent has `requestor` (1..1 in
 * R4); contained resources are referenced (dom-3).
 */
export function fhirJsonViolations(e: Json): string[] {
  const broken: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value === null) broken.push(`${path} is null`);
    else if (Array.isArray(value)) {
      if (value.length === 0) broken.push(`${path} is an empty array`);
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
    } else if (typeof value === "object") {
      if (Object.keys(value as object).length === 0) broken.push(`${path} is an empty object`);
      for (const [k, v] of Object.entries(value as object)) walk(v, `${path}.${k}`);
    } else if (value === "") broken.push(`${path} is an empty string`);
  };
  walk(e, "AuditEvent");
  for (const a of e.agent ?? []) if (typeof a.requestor !== "boolean") broken.push("agent.requestor 1..1");
  for (const c of e.contained ?? []) {
    if (!(e.entity ?? []).some((x: Json) => x.what?.reference === `#${c.id}`)) broken.push(`contained ${c.resourceType}/${c.id} is not referenced (dom-3)`);
  }
  return broken;
}

/** BALP: a failure "would not be a successful outcome and should have an OperationOutcome" (PatientRead.fsh description). */
export function failureViolations(e: Json): string[] {
  const broken: string[] = [];
  if (e.outcome === "0") broken.push("a refusal has outcome 0");
  const oo = (e.entity ?? []).find((x: Json) => is(x.type, "http://hl7.org/fhir/resource-types", "OperationOutcome"));
  if (!oo) broken.push("no OperationOutcome entity");
  else {
    const contained = (e.contained ?? []).find((c: Json) => `#${c.id}` === oo.what?.reference);
    if (contained?.resourceType !== "OperationOutcome" || !(contained.issue?.length > 0)) broken.push("the OperationOutcome entity names no contained OperationOutcome with an issue");
  }
  if (((e.meta?.profile ?? []) as string[]).some((p) => p.startsWith(BALP_PREFIX) && !p.endsWith("AuthZconsent"))) broken.push("a refusal claims a REST profile, whose outcome is fixed to 0");
  return broken;
}
