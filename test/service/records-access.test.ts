import { DataSource } from "typeorm";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Deployment } from "../../service/chain/deployment";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";
import { problemType } from "../support/problem-type";
import { labObservation, recordsOf, type FhirJson } from "../support/synthea";
import { anchoredRanges, waitUntil, verifyOnChain } from "../support/trail-assertions";
import { SETTLE_TIMEOUT_MS } from "../support/ready";

const SYNTHEA_PATIENT = "a5cb8ce9-cec6-6b23-0990-cbaf753578a4";
const CONDITIONS = 1 << 2;

describe("consent-enforced record exchange", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  const alice = walletOf("patient", 0);
  const bob = walletOf("patient", 1);
  let hospital: Record<string, string>;
  let lab: Record<string, string>;
  let aliceAuth: Record<string, string>;
  let bobAuth: Record<string, string>;
  let regulator: Record<string, string>;
  const stored = new Map<string, FhirJson>();

  const get = (url: string, headers: Record<string, string>) => service.request({ method: "GET", url, headers });
  const trailCount = async () => (await get("/audit/events?limit=1000", regulator)).body.events.length as number;

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { BATCH_MAX_MS: "200", BODY_LIMIT_BYTES: "65536" } });
    client = consentClient(service, chain.provider, deployment);
    hospital = await client.signIn(walletOf("institution", 0));
    lab = await client.signIn(walletOf("institution", 1));
    regulator = await client.signIn(walletOf("regulator", 0));
    bobAuth = await client.signIn(bob);
    const enrolled = await client.enrol(alice, hospital, walletOf("institution", 0), [{ system: "http://hospital.smarthealthit.org", value: SYNTHEA_PATIENT }]);
    expect(enrolled.status).toBe(201);
    aliceAuth = await client.signIn(alice);

    // The hospital publishes Alice's Synthea chart under its own ids (FHIR update-as-create).
    const { patient, records } = recordsOf(SYNTHEA_PATIENT);
    for (const resource of [patient, ...records]) {
      const res = await service.request({ method: "PUT", url: `/fhir/${resource.resourceType}/${resource.id}`, headers: { ...hospital, "content-type": "application/fhir+json" }, payload: JSON.stringify(resource) });
      expect([res.status, res.body.resourceType]).toEqual([201, resource.resourceType]);
      stored.set(resource.resourceType, res.body);
    }
    const lab1 = await service.request({ method: "POST", url: "/fhir/Observation", headers: hospital, payload: labObservation(`Patient/${SYNTHEA_PATIENT}`) });
    expect(lab1.status).toBe(201);
    expect(lab1.body.meta.versionId).toBe("1");
    stored.set("Observation", lab1.body);
  });

  afterAll(() => service.close());

  it("stores versions: an update increments meta.versionId", async () => {
    const condition = stored.get("Condition")!;
    const res = await service.request({ method: "PUT", url: `/fhir/Condition/${condition.id}`, headers: { ...hospital, "if-match": 'W/"1"' }, payload: { ...condition, meta: undefined } });
    expect(res.status).toBe(200);
    expect(res.body.meta.versionId).toBe("2");
    expect(res.headers.etag).toBe('W/"2"');
  });

  it("refuses another institution without consent, and releases once the patient permits", async () => {
    const condition = stored.get("Condition")!;
    const denied = await get(`/fhir/Condition/${condition.id}?purpose=TREAT`, lab);
    expect(denied.status).toBe(403);
    expect(problemType(denied)).toBe("urn:consentry:problem:consent-required");
    expect(JSON.stringify(denied.body)).not.toContain(SYNTHEA_PATIENT);

    const signed = await client.signGrant(alice, client.terms(alice, { grantee: walletOf("institution", 1).address, categories: CONDITIONS }));
    expect((await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } })).status).toBe(201);

    const read = await get(`/fhir/Condition/${condition.id}?purpose=TREAT`, lab);
    expect(read.status).toBe(200);
    expect(read.headers["content-type"]).toMatch(/application\/fhir\+json/);
    expect(read.body).toMatchObject({ resourceType: "Condition", id: condition.id });

    const events = (await get(`/audit/events?limit=1000`, lab)).body.events.filter((e: { resourceId: string }) => e.resourceId === condition.id);
    expect(events.map((e: { decision: string }) => e.decision)).toEqual(["no-consent", "permit"]);
    expect(events[1].consentId).toMatch(/^0x[0-9a-f]{64}$/);
    // The refused requester is not told whose record it asked for; the patient and the regulator are.
    expect(events[0]).toMatchObject({ patient: null, categories: [] });
    expect(events[1].patient).toBe(alice.address.toLowerCase());
    expect(await waitUntil(async () => (await get(`/audit/events/${events[0].id}/proof`, lab)).status === 200, SETTLE_TIMEOUT_MS)).toBe(true);
    const refusedProof = await get(`/audit/events/${events[0].id}/proof`, lab);
    expect(refusedProof.body.leafValues).toBeNull();
    expect(refusedProof.body.proof.length).toBeGreaterThan(0);
    const asPatient = (await get("/audit/events?limit=1000", aliceAuth)).body.events.find((e: { id: string }) => e.id === events[0].id);
    expect(asPatient.patient).toBe(alice.address.toLowerCase());
  });

  it("searches without counting or hinting at withheld records", async () => {
    const conditions = await get(`/fhir/Condition?patient=${alice.address}&purpose=TREAT`, lab);
    expect(conditions.status).toBe(200);
    expect(conditions.body).toMatchObject({ resourceType: "Bundle", type: "searchset" });
    expect(conditions.body.total).toBe(recordsOf(SYNTHEA_PATIENT).records.filter((r) => r.resourceType === "Condition").length);

    const observations = await get(`/fhir/Observation?patient=${alice.address}&purpose=TREAT`, lab);
    expect(observations.status).toBe(200);
    expect(observations.body).toEqual(expect.objectContaining({ total: 0, entry: [] }));
  });

  it("reads versions (vread, history) under the same consent rules, and records each attempt", async () => {
    const condition = stored.get("Condition")!;
    const v1 = await get(`/fhir/Condition/${condition.id}/_history/1?purpose=TREAT`, lab);
    expect(v1.status).toBe(200);
    expect(v1.body.meta.versionId).toBe("1");
    // The Location the API sends on every write now names a route that answers.
    expect(v1.headers.location).toBe(`/fhir/Condition/${condition.id}/_history/1`);

    const history = await get(`/fhir/Condition/${condition.id}/_history?purpose=TREAT`, lab);
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({ resourceType: "Bundle", type: "history", total: 2 });
    expect(history.body.entry.map((e: { resource: FhirJson }) => (e.resource.meta as { versionId: string }).versionId)).toEqual(["2", "1"]);

    expect((await get(`/fhir/Condition/${condition.id}/_history/9?purpose=TREAT`, lab)).status).toBe(404);
    // Another patient hears the same 404 as for an id that does not exist.
    expect((await get(`/fhir/Condition/${condition.id}/_history/1`, bobAuth)).status).toBe(404);
    expect((await get(`/fhir/Condition/${condition.id}/_history`, bobAuth)).status).toBe(404);

    const mine = (await get(`/audit/events?limit=1000`, lab)).body.events.filter((e: { resourceId: string }) => e.resourceId === condition.id);
    expect(mine.map((e: { decision: string }) => e.decision).slice(-3)).toEqual(["permit", "permit", "rejected"]);
    // A patient's trail shows accesses to their own data; the regulator sees Bob's attempts on Alice's record.
    const bobs = (await get(`/audit/events?actor=${bob.address}&limit=1000`, regulator)).body.events.filter((e: { resourceId: string }) => e.resourceId === condition.id);
    expect(bobs.map((e: { decision: string }) => e.decision)).toEqual(["rejected", "rejected"]);
  });

  it("answers an id that names no record exactly as one the caller may not see", async () => {
    const withheld = await get(`/fhir/Observation/${stored.get("Observation")!.id}?purpose=TREAT`, lab);
    const unknown = await get(`/fhir/Observation/no-such-record?purpose=TREAT`, lab);
    const shape = (res: { status: number; body: { issue: Array<{ details: { text: string } }> } }) => [res.status, problemType(res), res.body.issue[0].details.text];
    expect(shape(withheld)).toEqual([403, "urn:consentry:problem:consent-required", "Forbidden"]);
    expect(shape(unknown)).toEqual(shape(withheld));
    expect(shape(await get(`/fhir/Observation/no-such-record`, lab))).toEqual(shape(await get(`/fhir/Observation/${stored.get("Observation")!.id}`, lab)));
    // In the requester's own trail the two attempts look alike too.
    const mine = (await get(`/audit/events?limit=1000`, lab)).body.events.slice(-4);
    expect(mine[1]).toMatchObject({ decision: "no-consent", patient: null, categories: [], consentId: null });
    expect(mine[0]).toMatchObject({ decision: "no-consent", patient: null, categories: [], consentId: null });
  });

  it("lets the patient and the custodian read without a consent", async () => {
    const observation = stored.get("Observation")!;
    expect((await get(`/fhir/Observation/${observation.id}`, aliceAuth)).status).toBe(200);
    expect((await get(`/fhir/Observation/${observation.id}?purpose=TREAT`, hospital)).status).toBe(200);
    const own = await get(`/fhir/Observation?patient=${alice.address}`, aliceAuth);
    expect(own.body.total).toBe(1);
    // …but another patient sees nothing, and learns nothing about the id.
    const other = await get(`/fhir/Observation/${observation.id}`, bobAuth);
    expect(other.status).toBe(404);
  });

  it("serves a break-glass read with a justification, flags it to the patient and anchors it in a batch of its own", async () => {
    const immunization = stored.get("Immunization")!;
    const noReason = await get(`/fhir/Immunization/${immunization.id}?purpose=ETREAT`, lab);
    expect(noReason.status).toBe(400);
    expect(problemType(noReason)).toBe("urn:consentry:problem:justification-required");

    const res = await get(`/fhir/Immunization/${immunization.id}?purpose=ETREAT&justification=${encodeURIComponent("unconscious in ER")}`, lab);
    expect(res.status).toBe(200);
    const mine = (await get("/audit/events?limit=1000", aliceAuth)).body.events;
    const flagged = mine.filter((e: { breakGlass: boolean }) => e.breakGlass);
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatchObject({ action: "record.read", purposes: ["ETREAT"], justification: "unconscious in ER" });

    expect(await waitUntil(async () => (await get(`/audit/events/${flagged[0].id}/proof`, aliceAuth)).status === 200, SETTLE_TIMEOUT_MS)).toBe(true);
    const proof = (await get(`/audit/events/${flagged[0].id}/proof`, aliceAuth)).body;
    expect(proof.batch).toMatchObject({ firstSeq: flagged[0].seq, lastSeq: flagged[0].seq, breakGlass: true });
    expect(StandardMerkleTree.verify(proof.batch.root, proof.leafEncoding, proof.leafValues, proof.proof)).toBe(true);
    const { ledger } = await anchoredRanges(chain.provider, deployment);
    expect(await verifyOnChain(ledger, proof)).toBe(true);

    const fhir = await get(`/fhir/AuditEvent?patient=${alice.address}`, aliceAuth);
    const audit = fhir.body.entry.map((e: { resource: FhirJson }) => e.resource).find((r: FhirJson) => r.id === flagged[0].id);
    expect(audit).toMatchObject({ resourceType: "AuditEvent", action: "R", outcome: "0", purposeOfEvent: [{ coding: [{ code: "ETREAT" }] }, { coding: [{ code: "BTG" }] }] });
    // HL7's break-glass code (v3-ActReason#BTG), as a security label on the event.
    expect(audit.meta.security).toEqual([{ system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "BTG", display: "break the glass" }]);
  });

  it("refuses a justification with control characters without disturbing other requests", async () => {
    const immunization = stored.get("Immunization")!;
    const [bad, good] = await Promise.all([
      get(`/fhir/Immunization/${immunization.id}?purpose=ETREAT&justification=a%00b`, lab),
      get(`/fhir/Immunization/${immunization.id}`, aliceAuth),
    ]);
    expect([bad.status, problemType(bad)]).toEqual([400, "urn:consentry:problem:validation-failed"]);
    expect(good.status).toBe(200);
  });

  describe("bad input: a 4xx problem, nothing released, and the attempt in the trail", () => {
    const cases: Array<[string, () => Promise<{ status: number; body: any; headers: Record<string, unknown> }>, number, string]> = [
      ["an unknown resource type", () => get(`/fhir/Spaceship/x?purpose=TREAT`, lab), 400, "unsupported-resource-type"],
      // The same answer as for a record the caller may not see: ids tell nothing.
      ["an id that does not exist", () => get(`/fhir/Condition/does-not-exist?purpose=TREAT`, lab), 403, "consent-required"],
      ["a missing purpose", () => get(`/fhir/Condition/${stored.get("Condition")!.id}`, lab), 400, "purpose-required"],
      ["an unknown purpose", () => get(`/fhir/Condition/${stored.get("Condition")!.id}?purpose=SNOOP`, lab), 400, "unknown-purpose"],
      ["a record for a patient who is not enrolled", () => service.request({ method: "POST", url: "/fhir/Observation", headers: hospital, payload: labObservation(`Patient/nobody`) }), 422, ""],
      ["a write by another custodian", () => service.request({ method: "PUT", url: `/fhir/Condition/${stored.get("Condition")!.id}`, headers: lab, payload: stored.get("Condition")! }), 403, "wrong-custodian"],
      ["a search by a patient for someone else", () => get(`/fhir/Condition?patient=${alice.address}`, bobAuth), 403, "not-your-data"],
    ];

    it.each(cases)("refuses %s", async (_, act, status, slug) => {
      const before = await trailCount();
      const res = await act();
      expect(res.status).toBe(status);
      if (slug) expect(problemType(res)).toBe(`urn:consentry:problem:${slug}`);
      // Errors under /fhir are OperationOutcomes (FHIR JSON).
      expect(res.headers["content-type"]).toMatch(/^application\/fhir\+json/);
      expect(await trailCount()).toBe(before + 1);
    });

    it("refuses an oversized body with 413", async () => {
      const before = await trailCount();
      const huge = { ...labObservation(`Patient/${SYNTHEA_PATIENT}`), note: [{ text: "x".repeat(70_000) }] };
      const res = await service.request({ method: "POST", url: "/fhir/Observation", headers: hospital, payload: huge });
      expect(res.status).toBe(413);
      expect(problemType(res)).toBe("urn:consentry:problem:payload-too-large");
      const events = (await get("/audit/events?limit=1000", regulator)).body.events;
      expect(events).toHaveLength(before + 1);
      expect(events.at(-1)).toMatchObject({ action: "record.write", decision: "rejected", resourceType: "Observation" });
    });

    it("records a request refused by validation before it reached the rules", async () => {
      const before = await trailCount();
      const res = await get(`/fhir/Condition/${"x".repeat(80)}?purpose=TREAT`, lab);
      expect(res.status).toBe(400);
      expect(problemType(res)).toBe("urn:consentry:problem:validation-failed");
      expect(await trailCount()).toBe(before + 1);
    });
  });

  it("erases a patient's records and key while the trail stays verifiable", async () => {
    const admin = await client.signIn(walletOf("admin", 0));
    const condition = stored.get("Condition")!;
    const anEvent = (await get("/audit/events?limit=1", aliceAuth)).body.events[0];
    const res = await service.request({ method: "POST", url: `/patients/${alice.address}/erase`, headers: admin });
    expect(res.status).toBe(200);
    expect(res.body.recordsErased).toBeGreaterThan(5);
    // Gone for everyone: the custodian hears what it hears for any id without a record, the patient "not found".
    expect(problemType(await get(`/fhir/Condition/${condition.id}?purpose=TREAT`, hospital))).toBe("urn:consentry:problem:consent-required");
    expect((await get(`/fhir/Condition/${condition.id}`, aliceAuth)).status).toBe(404);
    expect((await get(`/fhir/Condition?patient=${alice.address}&purpose=TREAT`, hospital)).body.total).toBe(0);
    const proof = await get(`/audit/events/${anEvent.id}/proof`, regulator);
    expect(proof.status).toBe(200);
    const { ledger } = await anchoredRanges(chain.provider, deployment);
    expect(await verifyOnChain(ledger, proof.body)).toBe(true);
    expect((await service.request({ method: "POST", url: `/patients/${alice.address}/erase`, headers: hospital })).status).toBe(403);
    // Nothing left that names her: no resource ids or justifications in her trail, no identifiers in the clear.
    const hers = (await get(`/audit/events?patient=${alice.address}&limit=1000`, regulator)).body.events;
    expect(hers.length).toBeGreaterThan(10);
    expect(hers.filter((e: { resourceId: string | null; justification: string | null }) => e.resourceId !== null || e.justification !== null)).toEqual([]);
    const db = service.app.get(DataSource);
    expect(await db.query(`SELECT count(*)::int AS n FROM patient_enrolments WHERE patient = $1`, [alice.address.toLowerCase()])).toEqual([{ n: 0 }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM patient_enrolments WHERE identifiers IS NOT NULL`)).toEqual([{ n: 0 }]);
  });
});
