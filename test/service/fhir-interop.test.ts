import { Wallet } from "ethers";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Deployment } from "../../service/chain/deployment";
import { PROJECT_ROOT } from "../../service/paths";
import { definitionIssues } from "../../service/records/fhir-definitions";
import { walletOf } from "../support/actors";
import { inProcessChain, type InProcessChain } from "../support/chain";
import { consentClient, deployWithDemoRoles } from "../support/consent-fixture";
import { startTestService, type TestService } from "../support/service";
import { syntheaSample, type FhirJson } from "../support/synthea";
import { claim, clinicalNote, explanationOfBenefit, labReport, observationsOfEveryCategory, provenance } from "../fhir/synthea-shapes";

const ALICE_ID = "a5cb8ce9-cec6-6b23-0990-cbaf753578a4";
const BOB_ID = "cbc86e51-9eca-3855-76ec-c058f72c5761";
const SYNTHEA = "https://github.com/synthetichealth/synthea";
const PROBLEM = "urn:consentry:problem";

type Res = Awaited<ReturnType<TestService["request"]>>;

/** The slug and paths of an OperationOutcome answer (errors under /fhir). */
function outcome(res: Res): { slug: string; paths: string[]; diagnostics: string[] } {
  expect(res.headers["content-type"]).toMatch(/^application\/fhir\+json/);
  expect(res.body.resourceType).toBe("OperationOutcome");
  const issues = res.body.issue as Array<{ severity: string; code: string; details: { coding: Array<{ system: string; code: string }> }; diagnostics?: string; expression?: string[] }>;
  for (const issue of issues) {
    expect(issue.severity).toBe("error");
    expect(typeof issue.code).toBe("string");
  }
  return {
    slug: issues[0].details.coding.find((c) => c.system === PROBLEM)!.code,
    paths: issues.flatMap((i) => i.expression ?? []),
    diagnostics: issues.map((i) => i.diagnostics ?? ""),
  };
}

/** What the service answers is itself valid FHIR R4: checked with the same validator that checks what it stores. */
function expectValidFhir(body: Record<string, unknown> & { resourceType: string }): void {
  expect([body.resourceType, definitionIssues(body)]).toEqual([body.resourceType, []]);
}

describe("FHIR interoperability: real exports in, FHIR conventions out", () => {
  let chain: InProcessChain;
  let deployment: Deployment;
  let service: TestService;
  let client: ReturnType<typeof consentClient>;
  const alice = walletOf("patient", 0);
  const bob = walletOf("patient", 1);
  let hospital: Record<string, string>;
  let lab: Record<string, string>;
  let aliceAuth: Record<string, string>;
  let regulator: Record<string, string>;
  const counts: Record<string, { accepted: number; refused: number }> = {};
  const refusals: Array<{ rule: string; type: string; status: number; slug: string; path: string }> = [];

  const get = (url: string, headers: Record<string, string>) => service.request({ method: "GET", url, headers });
  const trail = async () => (await get("/audit/events?limit=1000", regulator)).body.events as Array<{ action: string; decision: string; resourceType: string | null; resourceId: string | null; patient: string | null }>;
  const tally = (type: string, accepted: boolean) => {
    counts[type] ??= { accepted: 0, refused: 0 };
    counts[type][accepted ? "accepted" : "refused"]++;
  };
  const ndjson = (resources: FhirJson[]) => resources.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const importLines = (body: string, headers = hospital) =>
    service.request({ method: "POST", url: "/fhir/$import", headers: { ...headers, "content-type": "application/fhir+ndjson" }, payload: body });

  beforeAll(async () => {
    chain = await inProcessChain();
    deployment = await deployWithDemoRoles(chain.signers[0]);
    service = await startTestService({ deployment, provider: chain.provider, env: { BATCH_MAX_MS: "200" } });
    client = consentClient(service, chain.provider, deployment);
    hospital = await client.signIn(walletOf("institution", 0));
    lab = await client.signIn(walletOf("institution", 1));
    regulator = await client.signIn(walletOf("regulator", 0));
    // Both Synthea patients, enrolled by the identifier Synthea gives them.
    expect((await client.enrol(alice, hospital, walletOf("institution", 0), [{ system: SYNTHEA, value: ALICE_ID }])).status).toBe(201);
    expect((await client.enrol(bob, hospital, walletOf("institution", 0), [{ system: SYNTHEA, value: BOB_ID }])).status).toBe(201);
    aliceAuth = await client.signIn(alice);
  });

  afterAll(async () => {
    const rows = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
    const report = { load: Object.fromEntries(rows), refusals };
    console.log(
      [
        "FHIR load (Synthea sample + every observation category and note kind, bulk NDJSON import): accepted/refused per resource type",
        ...rows.map(([type, c]) => `  ${type.padEnd(28)} ${String(c.accepted).padStart(4)} accepted ${String(c.refused).padStart(4)} refused`),
        "invalid resources refused, one per rule:",
        ...refusals.map((r) => `  ${r.rule.padEnd(44)} ${r.type.padEnd(18)} ${r.status} ${r.slug.padEnd(26)} ${r.path}`),
      ].join("\n"),
    );
    mkdirSync(join(PROJECT_ROOT, "test-results"), { recursive: true });
    writeFileSync(join(PROJECT_ROOT, "test-results/fhir-load-counts.json"), JSON.stringify(report, null, 2));
    await service?.close();
  });

  it("publishes a CapabilityStatement without sign-in, listing what is served", async () => {
    const res = await service.request({ method: "GET", url: "/fhir/metadata" });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: "CapabilityStatement", fhirVersion: "4.0.1", kind: "instance", format: ["json"] });
    const types = (res.body.rest[0].resource as Array<{ type: string; interaction: Array<{ code: string }>; searchParam?: Array<{ name: string }> }>).map((r) => r.type);
    for (const type of ["Patient", "Observation", "DiagnosticReport", "Device", "Claim", "Provenance", "Organization", "Practitioner", "PractitionerRole", "Location", "Medication", "Consent", "AuditEvent"]) {
      expect(types).toContain(type);
    }
    const observation = res.body.rest[0].resource.find((r: { type: string }) => r.type === "Observation");
    expect(observation.interaction.map((i: { code: string }) => i.code)).toEqual(expect.arrayContaining(["read", "vread", "search-type", "create", "update", "history-instance"]));
    expect(observation.searchParam.map((p: { name: string }) => p.name)).toEqual(["patient", "_lastUpdated", "_count"]);
    expect(res.body.rest[0].interaction).toEqual([expect.objectContaining({ code: "transaction" })]);
    expect(res.body.rest[0].operation[0].name).toBe("import");
    expectValidFhir(res.body);
  });

  it("loads the whole Synthea sample and every observation category and note kind with zero refusals (bulk NDJSON import)", async () => {
    // A JSON body is the wrong media type for $import: 415, as documented.
    const asJson = await service.request({ method: "POST", url: "/fhir/$import", headers: { ...hospital, "content-type": "application/json" }, payload: JSON.stringify({ resourceType: "Patient" }) });
    expect([asJson.status, outcome(asJson).slug]).toEqual([415, "unsupported-media-type"]);
    const sample = syntheaSample();
    const made = [
      ...observationsOfEveryCategory(`Patient/${ALICE_ID}`),
      clinicalNote(`Patient/${ALICE_ID}`),
      clinicalNote(`Patient/${ALICE_ID}`, ["LP29708-2", "LP7839-6"]),
      labReport(`Patient/${ALICE_ID}`),
      { ...claim(`Patient/${ALICE_ID}`), id: "claim-1" },
      explanationOfBenefit(`Patient/${ALICE_ID}`, "Claim/claim-1"),
      provenance(`Patient/${ALICE_ID}`, [`Condition/${sample.find((r) => r.resourceType === "Condition")!.id}`]),
    ];
    const before = (await trail()).length;
    // Patients first, as a bulk export's Patient file comes first; the rest in the sample's order.
    const lines = [...sample.filter((r) => r.resourceType === "Patient"), ...sample.filter((r) => r.resourceType !== "Patient"), ...made];
    const res = await importLines(ndjson(lines));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: "Bundle", type: "batch-response" });
    const entries = res.body.entry as Array<{ response: { status: string; location?: string; outcome?: { issue: Array<{ diagnostics: string; expression?: string[] }> } } }>;
    expect(entries).toHaveLength(lines.length);
    entries.forEach((entry, i) => tally(lines[i].resourceType, entry.response.status.startsWith("20")));
    const refused = entries.flatMap((e, i) => (e.response.status.startsWith("20") ? [] : [`${lines[i].resourceType}: ${JSON.stringify(e.response.outcome)}`]));
    expect(refused).toEqual([]);
    expectValidFhir(res.body);
    // Ids kept: the sample's own references (Patient/<id>) resolved without rewriting anything.
    for (const [i, entry] of entries.entries()) {
      if (lines[i].id) expect(entry.response.location).toBe(`${lines[i].resourceType}/${lines[i].id}/_history/1`);
    }
    expect(new Set(lines.map((r) => r.resourceType))).toEqual(
      new Set(["Patient", "Condition", "Encounter", "MedicationRequest", "Immunization", "DocumentReference", "AllergyIntolerance", "Procedure", "Device", "Location", "Organization", "Practitioner", "PractitionerRole", "Observation", "DiagnosticReport", "Claim", "ExplanationOfBenefit", "Provenance"]),
    );
    // One access event per line, each a recorded write.
    const events = (await trail()).slice(before);
    expect(events).toHaveLength(lines.length);
    expect(events.every((e) => e.action === "record.write" && e.decision === "recorded")).toBe(true);
    // Directory data has no patient; the Device implanted in Alice is hers.
    const of = (id: string | undefined) => events.find((e) => e.resourceId === id)!;
    expect(of(sample.find((r) => r.resourceType === "Organization")!.id).patient).toBeNull();
    expect(of(sample.find((r) => r.resourceType === "Device")!.id).patient).toBe(alice.address.toLowerCase());
  });

  it("files each observation category, the notes and the lab report under their consent categories", async () => {
    const res = await get(`/fhir/Observation?patient=${alice.address}`, aliceAuth);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(9);
    const reports = await get(`/fhir/DiagnosticReport?patient=${alice.address}`, aliceAuth);
    expect(reports.body.total).toBe(3);
    // Alice consents to laboratory results only: the lab gets the lab observation and the lab report, no note.
    const signed = await client.signGrant(alice, client.terms(alice, { grantee: walletOf("institution", 1).address, categories: 1 << 3 }));
    expect((await service.request({ method: "POST", url: "/consents", headers: aliceAuth, payload: { ...signed, wait: true } })).status).toBe(201);
    const labView = await get(`/fhir/Observation?patient=${alice.address}&purpose=TREAT`, lab);
    expect(labView.body.entry.map((e: { resource: FhirJson }) => e.resource.category[0].coding[0].code)).toEqual(["laboratory"]);
    const labReports = await get(`/fhir/DiagnosticReport?patient=${alice.address}&purpose=TREAT`, lab);
    expect(labReports.body.entry.map((e: { resource: FhirJson }) => e.resource.category[0].coding[0].code)).toEqual(["LAB"]);
  });

  it("serves directory data to any institution without a consent, records it, and hides it from patients", async () => {
    const org = syntheaSample().find((r) => r.resourceType === "Organization")!;
    const before = (await trail()).length;
    const read = await get(`/fhir/Organization/${org.id}`, lab);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ resourceType: "Organization", id: org.id });
    const list = await get(`/fhir/Practitioner`, lab);
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(1);
    const events = (await trail()).slice(before);
    expect(events.map((e) => [e.action, e.decision, e.patient])).toEqual([
      ["record.read", "permit", null],
      ["record.search", "permit", null],
    ]);
    expect((await get(`/fhir/Organization/${org.id}`, aliceAuth)).status).toBe(404);
  });

  it("searches by an enrolled identifier (system|value), pages with _count and next links, and narrows by _lastUpdated", async () => {
    const byIdentifier = await get(`/fhir/Condition?patient=${encodeURIComponent(`${SYNTHEA}|${ALICE_ID}`)}&purpose=TREAT`, hospital);
    expect(byIdentifier.status).toBe(200);
    const byAccount = await get(`/fhir/Condition?patient=${alice.address}&purpose=TREAT`, hospital);
    expect(byIdentifier.body.total).toBe(byAccount.body.total);
    expect(byAccount.body.total).toBe(2);

    const first = await get(`/fhir/Observation?patient=${alice.address}&_count=4`, aliceAuth);
    expect(first.body.total).toBe(9);
    expect(first.body.entry).toHaveLength(4);
    const next = first.body.link.find((l: { relation: string }) => l.relation === "next").url as string;
    expect(next).toMatch(/_count=4/);
    expect(next).toMatch(/_offset=4/);
    const second = await get(next.slice(next.indexOf("/fhir/")), aliceAuth);
    expect(second.body.entry).toHaveLength(4);
    const third = await get(second.body.link.find((l: { relation: string }) => l.relation === "next").url.replace(/^https?:\/\/[^/]+/, ""), aliceAuth);
    expect(third.body.entry).toHaveLength(1);
    expect(third.body.link.some((l: { relation: string }) => l.relation === "next")).toBe(false);
    const ids = [...first.body.entry, ...second.body.entry, ...third.body.entry].map((e: { resource: FhirJson }) => e.resource.id);
    expect(new Set(ids).size).toBe(9);
    expectValidFhir(first.body);

    const future = await get(`/fhir/Observation?patient=${alice.address}&_lastUpdated=gt2100-01-01`, aliceAuth);
    expect(future.body.total).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const recent = await get(`/fhir/Observation?patient=${alice.address}&_lastUpdated=ge2020-01-01&_lastUpdated=lt2100-01-01`, aliceAuth);
    expect(recent.body.total).toBe(9);
    expect((await get(`/fhir/Observation?patient=${alice.address}&_lastUpdated=${today}`, aliceAuth)).body.total).toBe(9);
    const bad = await get(`/fhir/Observation?patient=${alice.address}&_lastUpdated=yesterday`, aliceAuth);
    expect(bad.status).toBe(400);
    expect(outcome(bad).slug).toBe("invalid-search");
    // An identifier no patient is enrolled with: an empty page, as for a patient without consent.
    const unknown = await get(`/fhir/Condition?patient=${encodeURIComponent(`${SYNTHEA}|no-such-patient`)}&purpose=TREAT`, lab);
    expect([unknown.status, unknown.body.total]).toEqual([200, 0]);
    // ...under the same purpose checks as for a known patient: break-glass without a justification is a 400 for both.
    for (const id of ["no-such-patient", BOB_ID]) {
      const glass = await get(`/fhir/Condition?patient=${encodeURIComponent(`${SYNTHEA}|${id}`)}&purpose=ETREAT`, lab);
      expect([glass.status, outcome(glass).slug]).toEqual([400, "justification-required"]);
    }
    // A patient may name only herself by identifier: nobody's and someone else's get the same 403, so identifiers cannot be probed.
    for (const id of ["no-such-patient", BOB_ID]) {
      const probe = await get(`/fhir/Condition?patient=${encodeURIComponent(`${SYNTHEA}|${id}`)}`, aliceAuth);
      expect([probe.status, outcome(probe).slug]).toEqual([403, "not-your-data"]);
    }
    const own = await get(`/fhir/Condition?patient=${encodeURIComponent(`${SYNTHEA}|${ALICE_ID}`)}`, aliceAuth);
    expect(own.status).toBe(200);
    expect(own.body.total).toBeGreaterThan(0);
  });

  it("stores a transaction Bundle with urn:uuid references rewritten, all or nothing", async () => {
    const carol = Wallet.createRandom() as unknown as Wallet;
    const mrn = "urn:oid:2.16.840.1.113883.19.5";
    expect((await client.enrol(carol, hospital, walletOf("institution", 0), [{ system: mrn, value: "MRN-CAROL" }])).status).toBe(201);
    const carolAuth = await client.signIn(carol);
    const patientUrl = "urn:uuid:8d1c0c38-4d6b-4f8e-9b0a-1f0c7e9c3a11";
    const encounterUrl = "urn:uuid:0b5e9f0e-3a55-4f3a-8a5e-6f0f0f6c8a22";
    const bundle = (extra: unknown[] = []) => ({
      resourceType: "Bundle",
      type: "transaction",
      entry: [
        { fullUrl: patientUrl, resource: { resourceType: "Patient", identifier: [{ system: mrn, value: "MRN-CAROL" }], name: [{ family: "Carol" }] }, request: { method: "POST", url: "Patient" } },
        {
          fullUrl: encounterUrl,
          resource: { resourceType: "Encounter", status: "finished", class: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "AMB" }, subject: { reference: patientUrl } },
          request: { method: "POST", url: "Encounter" },
        },
        { resource: { ...observationsOfEveryCategory(patientUrl)[7], id: "carol-hr-1", encounter: { reference: encounterUrl } }, request: { method: "PUT", url: "Observation/carol-hr-1" } },
        ...extra,
      ],
    });
    const before = (await trail()).length;
    // One invalid entry: nothing is stored, the path names the entry and the element.
    const bad = await service.request({ method: "POST", url: "/fhir", headers: hospital, payload: bundle([{ resource: { resourceType: "Condition", subject: { reference: patientUrl }, onsetDateTime: "yesterday" }, request: { method: "POST", url: "Condition" } }]) });
    expect(bad.status).toBe(400);
    const why = outcome(bad);
    expect(why.slug).toBe("invalid-resource");
    expect(why.paths).toContain("Bundle.entry[3].resource.Condition.onset[x]");
    refusals.push({ rule: "transaction: one invalid entry (all or nothing)", type: "Bundle", status: bad.status, slug: why.slug, path: why.paths[0] });
    const refusedEvents = (await trail()).slice(before);
    expect(refusedEvents.map((e) => [e.action, e.decision, e.resourceType])).toEqual([["record.write", "rejected", "Condition"]]);
    expect((await get(`/fhir/Observation?patient=${carol.address}`, carolAuth)).body.total).toBe(0);
    expect((await get(`/fhir/Patient?patient=${carol.address}`, carolAuth)).body.total).toBe(0);
    const afterRefusal = (await trail()).length;

    const ok = await service.request({ method: "POST", url: "/fhir", headers: hospital, payload: bundle() });
    expect(ok.status).toBe(200);
    expect(ok.body.type).toBe("transaction-response");
    expectValidFhir(ok.body);
    const locations = ok.body.entry.map((e: { response: { location: string } }) => e.response.location);
    expect(locations[2]).toBe("Observation/carol-hr-1/_history/1");
    const stored = await get(`/fhir/Observation/carol-hr-1`, carolAuth);
    const patientRef = `Patient/${locations[0].split("/")[1]}`;
    expect(stored.body.subject.reference).toBe(patientRef);
    expect(stored.body.encounter.reference).toBe(`Encounter/${locations[1].split("/")[1]}`);
    const events = (await trail()).slice(afterRefusal, afterRefusal + 3);
    expect(events.map((e) => [e.action, e.decision, e.resourceType, e.patient])).toEqual([
      ["record.write", "recorded", "Patient", carol.address.toLowerCase()],
      ["record.write", "recorded", "Encounter", carol.address.toLowerCase()],
      ["record.write", "recorded", "Observation", carol.address.toLowerCase()],
    ]);

    // A failure while writing (a stale If-Match on the last entry) rolls back the entries written before it.
    const before412 = (await get(`/fhir/Observation?patient=${carol.address}`, carolAuth)).body.total;
    const stale = await service.request({
      method: "POST",
      url: "/fhir",
      headers: hospital,
      payload: {
        resourceType: "Bundle",
        type: "transaction",
        entry: [
          { resource: observationsOfEveryCategory(patientRef)[8], request: { method: "POST", url: "Observation" } },
          { resource: { ...stored.body, meta: undefined }, request: { method: "PUT", url: "Observation/carol-hr-1", ifMatch: 'W/"9"' } },
        ],
      },
    });
    expect(stale.status).toBe(412);
    expect(outcome(stale)).toMatchObject({ slug: "version-conflict" });
    expect((await get(`/fhir/Observation?patient=${carol.address}`, carolAuth)).body.total).toBe(before412);
  });

  it("refuses one invalid resource per rule with an OperationOutcome naming the failing path", async () => {
    const sample = syntheaSample();
    const of = (type: string) => structuredClone(sample.find((r) => r.resourceType === type)!);
    const without = (r: FhirJson, key: string) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== key)) as FhirJson;
    const obs = () => structuredClone(observationsOfEveryCategory(`Patient/${ALICE_ID}`)[8]);
    const cases: Array<[rule: string, resource: FhirJson, status: number, slug: string, path: string]> = [
      ["unknown element (FHIR definitions)", { ...of("Condition"), bogusElement: 1 }, 400, "invalid-resource", "Condition.bogusElement"],
      ["wrong type: a string for a CodeableConcept", { ...of("Condition"), code: "diabetes" }, 400, "invalid-resource", "Condition.code"],
      ["primitive format: dateTime", { ...without(of("Condition"), "onsetDateTime"), onsetDateTime: "yesterday" }, 400, "invalid-resource", "Condition.onset[x]"],
      ["cardinality: required element missing", without(of("Encounter"), "class"), 400, "invalid-resource", "Encounter.class"],
      ["required value set (status)", { ...obs(), status: "done" }, 400, "invalid-resource", "Observation.status"],
      ["one variant per choice element", { ...obs(), valueString: "high" }, 400, "invalid-resource", "Observation.value[x]"],
      ["nested element format (code)", { ...obs(), code: { coding: [{ system: "http://loinc.org", code: "two  spaces" }] } }, 400, "invalid-resource", "Observation.code.coding[0].code"],
      ["FHIR JSON: empty string", { ...obs(), note: [{ text: "" }] }, 400, "invalid-resource", "Observation.note[0].text"],
      ["id syntax", { ...obs(), id: "has space" }, 400, "invalid-resource", "Observation.id"],
      ["Consentry: the patient reference is required", without(obs(), "subject"), 400, "invalid-resource", "Observation.subject"],
      ["Consentry: the category is required", without(obs(), "category"), 400, "invalid-resource", "Observation.category"],
      ["Consentry: a category of the standard set", { ...obs(), category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "bogus" }] }] }, 400, "unsupported-category", "Observation.category"],
      ["Consentry: one consent category per record", { ...obs(), category: [...obs().category, { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "vital-signs" }] }] }, 400, "unsupported-category", "Observation.category"],
      ["Consentry: no record type contained", { ...obs(), contained: [{ resourceType: "Condition", id: "c1", subject: { reference: `Patient/${ALICE_ID}` } }] }, 400, "invalid-resource", "Observation.contained[0].resourceType"],
      ["Consentry: the patient reference names a Patient", { ...obs(), subject: { reference: "Group/g1", type: "Group" } }, 400, "invalid-resource", "Observation.subject.type"],
      ["Consentry: the patient is enrolled with this custodian", { ...obs(), subject: { reference: "Patient/not-stored-here" } }, 422, "unknown-patient", "Observation.subject.reference"],
      ["resource type not stored (ledger view)", { resourceType: "Consent", status: "active" }, 400, "unsupported-resource-type", ""],
    ];
    for (const [rule, resource, status, slug, path] of cases) {
      const res = await service.request({ method: "POST", url: `/fhir/${resource.resourceType}`, headers: hospital, payload: resource });
      const got = outcome(res);
      refusals.push({ rule, type: resource.resourceType, status: res.status, slug: got.slug, path: got.paths[0] ?? "" });
      expect([rule, res.status, got.slug]).toEqual([rule, status, slug]);
      if (path) expect([rule, got.paths]).toEqual([rule, expect.arrayContaining([path])]);
      expectValidFhir(res.body);
    }
    // The same through the bulk import: the line's outcome names the path too.
    const res = await importLines(ndjson([{ ...of("Condition"), id: "bad-line", bogusElement: 1 }, obs()]));
    expect(res.body.entry[0].response).toMatchObject({ status: "400", outcome: { resourceType: "OperationOutcome", issue: expect.arrayContaining([expect.objectContaining({ expression: ["Condition.bogusElement"] })]) } });
    expect(res.body.entry[1].response.status).toBe("201 Created");
    expectValidFhir(res.body);
  });

  it("answers every error under /fhir as OperationOutcome, and problem+json elsewhere", async () => {
    const denied = await get(`/fhir/Condition/${syntheaSample().find((r) => r.resourceType === "Condition")!.id}?purpose=TREAT`, lab);
    expect(denied.status).toBe(403);
    expect(outcome(denied)).toMatchObject({ slug: "consent-required" });
    expect(denied.body.issue[0].code).toBe("security");
    const anonymous = await service.request({ method: "GET", url: "/fhir/Condition" });
    expect(anonymous.status).toBe(401);
    expect(outcome(anonymous).slug).toBeTruthy();
    const elsewhere = await service.request({ method: "GET", url: "/consents/0x12" , headers: lab });
    expect(elsewhere.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });
});
