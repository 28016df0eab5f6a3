import type { Deployment } from "../../service/chain/deployment";
import { categoriesOfResourceType } from "../../service/domain/consent-class";
import { definitionIssues } from "../../service/records/fhir-definitions";
import { walletOf } from "../support/actors";
import { balpViolations, BALP_PREFIX, failureViolations, fhirJsonViolations, isPatientReference } from "../support/balp";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";
import { labObservation, recordsOf, type FhirJson } from "../support/synthea";

/**
 * Every kind of event the service writes, served as FHIR AuditEvent, checked against the IHE BALP profile it
 * claims (test/support/balp.ts encodes each profile's required elements and slices from BALP's
 * StructureDefinitions): reads, searches, creates, updates, refusals, break-glass, consent decisions (API and
 * LEAP), grants, revocations and erasure. One AuditEvent per access: a search deciding each category on its own
 * is one AuditEvent naming all its trail events.
 */

const SYNTHEA_PATIENT = "a5cb8ce9-cec6-6b23-0990-cbaf753578a4";
const CONDITIONS = 1 << 2;
const LABORATORY = 1 << 3;
const ACCESS_EVENT = "urn:consentry:fhir:extension:access-event";

type Json = Record<string, any>;
const bitsOf = (mask: number) => [...Array(32).keys()].filter((bit) => mask & (1 << bit)).length;
interface TrailEvent {
  id: string;
  seq: number;
  action: string;
  decision: string;
  actor: string;
  resourceType: string | null;
  resourceId: string | null;
}

describe("IHE BALP conformance of GET /fhir/AuditEvent", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  const alice = walletOf("patient", 0);
  const hospitalWallet = walletOf("institution", 0);
  const labWallet = walletOf("institution", 1);
  let hospital: Record<string, string>;
  let lab: Record<string, string>;
  let regulator: Record<string, string>;
  let admin: Record<string, string>;
  let aliceAuth: Record<string, string>;
  let patientRecord: FhirJson;
  let condition: FhirJson;
  let observation: FhirJson;
  let consentId: string;
  let servedPatient: FhirJson;
  /** The ids of the trail events of each step, by name. */
  const step = new Map<string, string[]>();
  let lastSeq = 0;

  const did = (address: string) => `did:pkh:eip155:${deployment.chainId}:${address}`;
  const request = (method: string, url: string, headers: Record<string, string>, payload?: unknown) => service.request({ method, url, headers, payload });
  const trail = async (): Promise<TrailEvent[]> => (await request("GET", `/audit/events?limit=1000&after=${lastSeq}`, regulator)).body.events;

  /** Runs one step and remembers the trail events it recorded. */
  const run = async (name: string, status: number, act: () => ReturnType<TestService["request"]>) => {
    const res = await act();
    expect([name, res.status]).toEqual([name, status]);
    const events = await trail();
    if (events.length) lastSeq = events[events.length - 1].seq;
    step.set(name, events.map((e) => e.id));
    return res;
  };

  const auditEvents = async (headers: Record<string, string>, query = ""): Promise<Json[]> => {
    const res = await request("GET", `/fhir/AuditEvent${query}`, headers);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/fhir\+json/);
    return (res.body.entry ?? []).map((e: { resource: Json }) => e.resource);
  };
  const eventIds = (a: Json): string[] =>
    (a.extension ?? []).filter((x: Json) => x.url === ACCESS_EVENT).map((x: Json) => x.extension.find((p: Json) => p.url === "id").valueUuid.replace("urn:uuid:", ""));
  const of = (all: Json[], name: string): Json => {
    const ids = step.get(name)!;
    const found = all.filter((a) => eventIds(a).some((id) => ids.includes(id)));
    expect([name, found.length]).toEqual([name, 1]);
    return found[0];
  };
  const profileOf = (a: Json) => ((a.meta?.profile ?? []) as string[]).map((p) => p.replace(BALP_PREFIX, ""));
  const entity = (a: Json, system: string, code: string) => (a.entity ?? []).filter((x: Json) => x.type?.system === system && x.type?.code === code);
  const agent = (a: Json, code: string) => (a.agent ?? []).find((x: Json) => x.type.coding.some((c: Json) => c.code === code));

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { BATCH_MAX_MS: "200", INDEXER_POLL_MS: "100" } });
    client = consentClient(service, chain.provider, deployment);
    hospital = await client.signIn(hospitalWallet);
    lab = await client.signIn(labWallet);
    regulator = await client.signIn(walletOf("regulator", 0));
    admin = await client.signIn(walletOf("admin", 0));
    expect((await client.enrol(alice, hospital, hospitalWallet, [{ system: "http://hospital.smarthealthit.org", value: SYNTHEA_PATIENT }])).status).toBe(201);
    aliceAuth = await client.signIn(alice);
    lastSeq = (await trail()).at(-1)?.seq ?? 0;

    const { patient, records } = recordsOf(SYNTHEA_PATIENT);
    const fhir = { ...hospital, "content-type": "application/fhir+json" };
    patientRecord = (await run("create (PUT as create)", 201, () => request("PUT", `/fhir/Patient/${patient.id}`, fhir, JSON.stringify(patient)))).body;
    const { id: _id, ...conditionBody } = records.find((r) => r.resourceType === "Condition")!;
    condition = (await run("create (POST)", 201, () => request("POST", "/fhir/Condition", fhir, JSON.stringify(conditionBody)))).body;
    await run("update", 200, () => request("PUT", `/fhir/Condition/${condition.id}`, hospital, { ...condition, meta: undefined }));
    observation = (await run("create observation", 201, () => request("POST", "/fhir/Observation", hospital, labObservation(`Patient/${SYNTHEA_PATIENT}`)))).body;

    const signed = await client.signGrant(alice, client.terms(alice, { grantee: labWallet.address, categories: CONDITIONS }));
    consentId = (await run("grant", 201, () => request("POST", "/consents", aliceAuth, { ...signed, wait: true }))).body.consentId;

    await run("read", 200, () => request("GET", `/fhir/Condition/${condition.id}?purpose=TREAT`, lab));
    servedPatient = (await run("read own Patient", 200, () => request("GET", `/fhir/Patient/${patientRecord.id}`, aliceAuth))).body;
    await run("search", 200, () => request("GET", `/fhir/Condition?patient=${alice.address}&purpose=TREAT`, lab));
    await run("refused search", 200, () => request("GET", `/fhir/DiagnosticReport?patient=${alice.address}&purpose=TREAT`, lab));
    await run("partly released search", 200, () => request("GET", `/fhir/Observation?patient=${alice.address}&purpose=TREAT`, lab));
    await run("refused read", 403, () => request("GET", `/fhir/Observation/${observation.id}?purpose=TREAT`, lab));
    await run("invalid read", 400, () => request("GET", `/fhir/Observation/${observation.id}?purpose=SNOOP`, lab));
    await run("break-glass", 200, () => request("GET", `/fhir/Observation/${observation.id}?purpose=ETREAT&justification=${encodeURIComponent("unconscious in ER")}`, lab));
    await run("decision permit", 200, () => request("POST", "/consent-decisions", lab, { patient: alice.address, categories: CONDITIONS, purpose: "TREAT" }));
    await run("decision no-consent", 200, () => request("POST", "/consent-decisions", lab, { patient: alice.address, categories: LABORATORY, purpose: "TREAT" }));
    await run("LEAP consult for another institution", 200, () =>
      request("POST", "/cds-services/patient-consent-consult", hospital, {
        hook: "patient-consent-consult",
        hookInstance: "balp-1",
        context: { patientId: [{ system: "http://hospital.smarthealthit.org", value: SYNTHEA_PATIENT }], actor: [{ value: did(labWallet.address) }], class: [{ system: "http://hl7.org/fhir/resource-types", code: "Condition" }] },
      }),
    );
    // Directory data (no patient): an Organization stored by the hospital, read and listed by the lab.
    const organization = (await run("directory create", 201, () => request("POST", "/fhir/Organization", hospital, { resourceType: "Organization", name: "Northside Referral Clinic" }))).body;
    await run("directory read", 200, () => request("GET", `/fhir/Organization/${organization.id}`, lab));
    await run("directory search", 200, () => request("GET", "/fhir/Organization", lab));
    const revocation = await client.signRevoke(alice, consentId);
    await run("revoke", 200, () => request("POST", `/consents/${consentId}/revoke`, aliceAuth, { ...revocation, wait: true }));
  });

  afterAll(() => service?.close());

  describe("as the regulator sees the trail", () => {
    let all: Json[];
    beforeAll(async () => {
      all = await auditEvents(regulator);
    });

    it("serves one AuditEvent per access, naming every trail event exactly once", async () => {
      const trailIds = [...step.values()].flat();
      const named = all.flatMap(eventIds);
      expect(new Set(named).size).toBe(named.length);
      for (const id of trailIds) expect(named).toContain(id);
      expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
    });

    it("keeps FHIR JSON rules in every AuditEvent (no empty arrays, requestor on every agent, contained resources referenced)", () => {
      const broken = all.map((a) => [a.id, fhirJsonViolations(a)]).filter(([, v]) => (v as string[]).length);
      expect(broken).toEqual([]);
    });

    it("serves valid FHIR R4 AuditEvents (the R4 definitions, checked by the validator the record store uses)", () => {
      const broken = all.map((a) => [a.id, definitionIssues(a as Json & { resourceType: string })]).filter(([, v]) => (v as unknown[]).length);
      expect(broken).toEqual([]);
    });

    it("meets every rule of the BALP profile each AuditEvent claims", () => {
      const broken = all.map((a) => [a.id, profileOf(a), balpViolations(a)]).filter(([, , v]) => (v as string[]).length);
      expect(broken).toEqual([]);
    });

    it.each([
      ["create (PUT as create)", "IHE.BasicAudit.PatientCreate", "C"],
      ["create (POST)", "IHE.BasicAudit.PatientCreate", "C"],
      ["update", "IHE.BasicAudit.PatientUpdate", "U"],
      ["grant", "IHE.BasicAudit.PatientCreate", "C"],
      ["revoke", "IHE.BasicAudit.PatientUpdate", "U"],
      ["read", "IHE.BasicAudit.PatientRead", "R"],
      ["read own Patient", "IHE.BasicAudit.PatientRead", "R"],
      ["break-glass", "IHE.BasicAudit.PatientRead", "R"],
      ["search", "IHE.BasicAudit.PatientQuery", "E"],
      ["decision permit", "IHE.BasicAudit.AuthZconsent", "E"],
      ["LEAP consult for another institution", "IHE.BasicAudit.AuthZconsent", "E"],
    ])("%s claims %s", (name, profile, action) => {
      const a = of(all, name);
      expect(profileOf(a)).toEqual([profile]);
      expect(a.action).toBe(action);
      expect(balpViolations(a)).toEqual([]);
      // The patient entity names the patient's account, as a Patient reference.
      const [patient] = entity(a, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "1");
      expect(isPatientReference(patient.what)).toBe(true);
      expect(patient.what.identifier).toEqual({ system: "urn:ietf:rfc:3986", value: did(alice.address) });
    });

    it.each([
      ["directory create", "IHE.BasicAudit.Create"],
      ["directory read", "IHE.BasicAudit.Read"],
      ["directory search", "IHE.BasicAudit.Query"],
    ])("%s (data of no patient) claims %s, with no patient entity", (name, profile) => {
      const a = of(all, name);
      expect(profileOf(a)).toEqual([profile]);
      expect(balpViolations(a)).toEqual([]);
      expect(entity(a, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "1")).toEqual([]);
    });

    it("names the version a write created: creates are version 1, updates version-specific", () => {
      const data = (name: string) => entity(of(all, name), "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2")[0].what.reference;
      expect(data("create (PUT as create)")).toBe(`Patient/${patientRecord.id}/_history/1`);
      expect(data("create (POST)")).toBe(`Condition/${condition.id}/_history/1`);
      expect(data("update")).toBe(`Condition/${condition.id}/_history/2`);
      expect(data("grant")).toBe(`Consent/${consentId.slice(2)}`);
      expect(data("revoke")).toBe(`Consent/${consentId.slice(2)}`);
      expect(of(all, "create (POST)").subtype).toEqual([{ system: "http://hl7.org/fhir/restful-interaction", code: "create" }]);
      expect(of(all, "update").subtype).toEqual([{ system: "http://hl7.org/fhir/restful-interaction", code: "update" }]);
    });

    it("types the agents as BALP does: a read's client is the Destination, a query's the Source; the user carries purposeOfUse", () => {
      const read = of(all, "read");
      expect(agent(read, "110152")).toMatchObject({ who: { identifier: { value: did(labWallet.address) } }, requestor: false });
      expect(agent(read, "110153")).toMatchObject({ who: { display: "Consentry" }, network: { address: expect.stringMatching(/^https?:\/\//), type: "5" } });
      expect(agent(read, "IRCP")).toMatchObject({ requestor: true, purposeOfUse: [{ coding: [{ code: "TREAT" }] }] });
      const query = of(all, "search");
      expect(agent(query, "110153").who.identifier.value).toBe(did(labWallet.address));
      expect(agent(query, "110152").network.type).toBe("5");
    });

    it("references the Patient resource itself when the access was to it, and that resource carries the identifier it is named by", () => {
      const [patient] = entity(of(all, "read own Patient"), "http://terminology.hl7.org/CodeSystem/audit-entity-type", "1");
      expect(patient.what).toMatchObject({ reference: `Patient/${patientRecord.id}`, type: "Patient" });
      // The Patient as served carries the account (did:pkh) every AuditEvent names the patient by.
      expect(servedPatient.identifier).toContainEqual(patient.what.identifier);
    });

    it("records a query as BALP's role-24 entity, the search rebuilt from the trail (base64 in query, plain in description)", () => {
      const [query] = entity(of(all, "search"), "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2");
      const search = `Condition?patient=${encodeURIComponent(did(alice.address))}&purpose=TREAT`;
      expect(query).toEqual({ type: expect.any(Object), role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "24", display: "Query" }, description: search, query: Buffer.from(search).toString("base64") });
    });

    it("codes break-glass as HL7's v3-ActReason#BTG in meta.security and purposeOfEvent", () => {
      const a = of(all, "break-glass");
      const btg = { system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "BTG", display: "break the glass" };
      expect(a.meta.security).toEqual([btg]);
      expect(a.purposeOfEvent).toEqual([{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "ETREAT" }] }, { coding: [btg] }]);
      expect(agent(a, "IRCP").purposeOfUse).toContainEqual({ coding: [btg] });
    });

    it("maps a refused search spanning several categories to one failed AuditEvent, not one per category", () => {
      const ids = step.get("refused search")!;
      expect(ids.length).toBe(bitsOf(categoriesOfResourceType("DiagnosticReport")));
      expect(ids.length).toBeGreaterThan(1);
      const a = of(all, "refused search");
      expect(eventIds(a).sort()).toEqual([...ids].sort());
      expect(profileOf(a)).toEqual([]);
      expect(failureViolations(a)).toEqual([]);
      expect(a.outcome).toBe("4");
      // Still the query pattern: the role-24 entity and the patient.
      expect(entity(a, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2")[0].role.code).toBe("24");
    });

    it("maps a search released in some categories and withheld in others to one successful PatientQuery that says what was withheld", () => {
      const ids = step.get("partly released search")!;
      expect(ids.length).toBe(bitsOf(categoriesOfResourceType("Observation")));
      const a = of(all, "partly released search");
      expect(eventIds(a).sort()).toEqual([...ids].sort());
      if (categoriesOfResourceType("Observation") & CONDITIONS) {
        // The lab's consent covers the conditions category (social history, surveys): released; the rest withheld.
        expect(profileOf(a)).toEqual(["IHE.BasicAudit.PatientQuery"]);
        expect(a.outcome).toBe("0");
        expect(a.outcomeDesc).toMatch(/^Withheld: .*laboratory \(no-consent\)/);
      } else {
        expect(failureViolations(a)).toEqual([]);
      }
    });

    it.each([["refused read"], ["invalid read"], ["decision no-consent"]])("follows the pattern for %s with a failure outcome and an OperationOutcome, claiming no profile", (name) => {
      const a = of(all, name);
      expect(profileOf(a)).toEqual([]);
      expect(failureViolations(a)).toEqual([]);
      expect(a.contained[0]).toMatchObject({ resourceType: "OperationOutcome", issue: [{ severity: "error" }] });
    });

    it("records a consent decision as the authorization server's: client, user (the requester), userorg and authorizer", () => {
      const a = of(all, "LEAP consult for another institution");
      expect(agent(a, "110150").who.identifier.value).toBe(did(hospitalWallet.address));
      expect(agent(a, "IRCP")).toMatchObject({ who: { identifier: { value: did(labWallet.address) } }, requestor: true });
      expect(agent(a, "PROV")).toMatchObject({ who: { identifier: { value: did(labWallet.address) } }, requestor: false });
      expect(agent(a, "authserver").who).toEqual(a.source.observer);
      expect(entity(a, "http://hl7.org/fhir/resource-types", "Consent")).toEqual([{ type: expect.any(Object), what: { reference: `Consent/${consentId.slice(2)}` } }]);
      expect(a.outcome).toBe("0");
    });
  });

  it("hides the subject of an institution's own refused read from it, as the trail does", async () => {
    const mine = await auditEvents(lab);
    const a = of(mine, "refused read");
    expect(entity(a, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "1")).toEqual([]);
    expect(JSON.stringify(a)).not.toContain(alice.address.slice(2).toLowerCase());
    expect(JSON.stringify(a).toLowerCase()).not.toContain(alice.address.slice(2).toLowerCase());
  });

  it("serves the patient every access to their data, each meeting its profile", async () => {
    const mine = await auditEvents(aliceAuth, `?patient=${alice.address}`);
    expect(mine.length).toBeGreaterThanOrEqual(10);
    expect(mine.flatMap(balpViolations)).toEqual([]);
    expect(mine.flatMap(fhirJsonViolations)).toEqual([]);
  });

  it("records an erasure as PatientDelete", async () => {
    await run("erase", 200, () => request("POST", `/patients/${alice.address}/erase`, admin));
    const a = of(await auditEvents(regulator), "erase");
    expect(profileOf(a)).toEqual(["IHE.BasicAudit.PatientDelete"]);
    expect(balpViolations(a)).toEqual([]);
    expect(a).toMatchObject({ action: "D", subtype: [{ code: "delete" }] });
    expect(agent(a, "110150")).toBeDefined();
    expect(agent(a, "custodian")).toBeDefined();
  });
});
