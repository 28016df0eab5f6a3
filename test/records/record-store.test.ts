import { accountDid, URI_SYSTEM } from "../../service/domain/fhir-identity";
import { diagnosticReport, handMade, type Json, observation, patientResource, rejection, syntheaSample } from "./builders";
import { CHAIN_ID, newAccount, recordsHarness, type RecordsHarness } from "./support";

const MRN = "urn:oid:2.16.840.1.113883.19.5";

describe("record store (real database)", () => {
  let h: RecordsHarness;
  const hospital = newAccount();
  const clinic = newAccount();
  const alice = newAccount();
  const bob = newAccount();
  const stranger = newAccount();

  beforeAll(async () => {
    h = await recordsHarness();
    await h.enrol(alice, hospital, [{ system: MRN, value: "A-1" }]);
    await h.enrol(bob, hospital, [{ system: MRN, value: "B-2" }]);
    await h.enrol(alice, clinic, [{ system: MRN, value: "C-9" }]);
  });
  afterAll(() => h.close());

  const byDid = (account: string) => ({ identifier: { system: URI_SYSTEM, value: accountDid(CHAIN_ID, account) } });

  describe("patient resolution", () => {
    it("resolves a did:pkh identifier of an enrolled patient", async () => {
      const record = await h.records.create(hospital, "Observation", observation("vital-signs", byDid(alice)));
      expect(record).toMatchObject({ type: "Observation", versionId: 1, patient: alice, custodian: hospital, category: 4 });
      expect(record.id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("resolves a bare address identifier and an identifier the custodian enrolled the patient with", async () => {
      expect((await h.records.create(hospital, "Observation", observation("laboratory", { identifier: { value: bob } }))).patient).toBe(bob);
      const mrn = await h.records.create(hospital, "Condition", { ...syntheaSample().find((r) => r.resourceType === "Condition"), subject: { identifier: { system: MRN, value: "A-1" } } });
      expect(mrn.patient).toBe(alice);
      const conditional = await h.records.create(hospital, "Observation", observation("laboratory", `Patient?identifier=${MRN}|B-2`));
      expect(conditional.patient).toBe(bob);
    });

    it("does not resolve another custodian's identifiers", async () => {
      // C-9 is alice's MRN at the clinic, not at the hospital.
      const problem = await rejection(h.records.create(hospital, "Observation", observation("laboratory", { identifier: { system: MRN, value: "C-9" } })));
      expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:unknown-patient", status: 422, path: "Observation.subject.identifier" });
    });

    it("resolves Patient/{id} to a Patient record this custodian stored, and only that", async () => {
      const { record, created } = await h.records.update(hospital, "Patient", "alice-at-hospital", {
        ...patientResource([{ system: "http://hl7.org/fhir/sid/us-ssn", value: "999-00-1111" }, { system: MRN, value: "A-1" }]),
        id: "alice-at-hospital",
      });
      expect(created).toBe(true);
      expect(record).toMatchObject({ patient: alice, category: 0, versionId: 1 });
      const lab = await h.records.create(hospital, "DiagnosticReport", diagnosticReport("LAB", "Patient/alice-at-hospital"));
      expect(lab).toMatchObject({ patient: alice, category: 3 });
      // alice is enrolled with the clinic too, but the clinic did not store that Patient record.
      const problem = await rejection(h.records.create(clinic, "DiagnosticReport", diagnosticReport("LAB", "Patient/alice-at-hospital")));
      expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:unknown-patient", path: "DiagnosticReport.subject.reference" });
    });

    it("resolves a Patient resource by its own did:pkh identifier", async () => {
      const record = await h.records.create(clinic, "Patient", patientResource([{ system: URI_SYSTEM, value: accountDid(CHAIN_ID, alice) }]));
      expect(record.patient).toBe(alice);
    });

    it("refuses a patient who is not enrolled with this custodian, storing nothing", async () => {
      const count = async () => Number((await h.dataSource.query("SELECT count(*) AS n FROM record_versions"))[0].n);
      const before = await count();
      const notEnrolled = await rejection(h.records.create(hospital, "Observation", observation("laboratory", byDid(stranger))));
      expect(notEnrolled.toBody()).toMatchObject({ type: "urn:consentry:problem:patient-not-enrolled", status: 422, path: "Observation.subject.identifier" });
      // bob is enrolled, but with the hospital only.
      expect((await rejection(h.records.create(clinic, "Observation", observation("laboratory", byDid(bob))))).slug).toBe("patient-not-enrolled");
      const unknownPatient = await rejection(h.records.create(hospital, "Patient", patientResource([{ system: MRN, value: "Z-404" }])));
      expect(unknownPatient.toBody()).toMatchObject({ type: "urn:consentry:problem:unknown-patient", path: "Patient.identifier" });
      const dangling = await rejection(h.records.create(hospital, "Observation", observation("laboratory", "Patient/nobody")));
      expect(dangling.slug).toBe("unknown-patient");
      const foreignChain = await rejection(
        h.records.create(hospital, "Observation", observation("laboratory", { identifier: { system: URI_SYSTEM, value: accountDid(1, alice) } })),
      );
      expect(foreignChain.slug).toBe("unknown-patient");
      const absolute = await rejection(h.records.create(hospital, "Observation", observation("laboratory", "https://elsewhere.example/fhir/Patient/1")));
      expect(absolute.slug).toBe("unknown-patient");
      expect(await count()).toBe(before);
    });

    it("refuses references that name two different patients", async () => {
      const both = { reference: `Patient?identifier=${MRN}|A-1`, identifier: { system: MRN, value: "B-2" } };
      expect((await rejection(h.records.create(hospital, "Observation", observation("laboratory", both)))).slug).toBe("ambiguous-patient");
      const agreeing = { reference: `Patient?identifier=${MRN}|A-1`, ...byDid(alice) };
      expect((await h.records.create(hospital, "Observation", observation("laboratory", agreeing))).patient).toBe(alice);
    });
  });

  describe("versioning", () => {
    it("increments versionId on update, sets meta, and keeps every version readable", async () => {
      const first = await h.records.create(hospital, "Observation", observation("vital-signs", byDid(alice), { id: "client-chosen", meta: { versionId: "41", profile: ["http://example.org/p"] } }));
      expect(first.id).not.toBe("client-chosen");
      expect(first.resource).toMatchObject({ resourceType: "Observation", id: first.id, meta: { versionId: "1", lastUpdated: first.lastUpdated, profile: ["http://example.org/p"] } });
      const edited = { ...first.resource, valueQuantity: { value: 80, unit: "/min" } };
      const { record: second, created } = await h.records.update(hospital, "Observation", first.id, edited);
      expect(created).toBe(false);
      expect(second).toMatchObject({ id: first.id, versionId: 2, resource: { meta: { versionId: "2" }, valueQuantity: { value: 80 } } });
      expect(Date.parse(second.lastUpdated)).toBeGreaterThan(Date.parse(first.lastUpdated));

      expect((await h.records.read("Observation", first.id))!.resource).toEqual(second.resource);
      expect((await h.records.readVersion("Observation", first.id, 1))!.resource).toEqual(first.resource);
      expect(await h.records.readVersion("Observation", first.id, 3)).toBeNull();
      expect((await h.records.history("Observation", first.id)).map((r) => r.versionId)).toEqual([2, 1]);
    });

    it("lets the category change between versions, and searches follow the latest", async () => {
      const record = await h.records.create(hospital, "Observation", observation("laboratory", byDid(bob)));
      await h.records.update(hospital, "Observation", record.id, { ...record.resource, category: observation("imaging").category });
      const imaging = await h.records.search("Observation", bob, { categories: 1 << 9 });
      expect(imaging.map((r) => r.id)).toContain(record.id);
      expect((await h.records.search("Observation", bob, { categories: 1 << 3 })).map((r) => r.id)).not.toContain(record.id);
      expect((await h.records.readVersion("Observation", record.id, 1))!.category).toBe(3);
    });

    it("honours If-Match", async () => {
      const record = await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
      const stale = await rejection(h.records.update(hospital, "Observation", record.id, record.resource, { ifMatch: 7 }));
      expect(stale.toBody()).toMatchObject({ type: "urn:consentry:problem:version-conflict", status: 412, currentVersionId: 1 });
      expect((await h.records.update(hospital, "Observation", record.id, record.resource, { ifMatch: 1 })).record.versionId).toBe(2);
    });

    it("serialises concurrent updates of one record into gapless versions", async () => {
      const record = await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
      const results = await Promise.all(Array.from({ length: 5 }, () => h.records.update(hospital, "Observation", record.id, record.resource)));
      expect(results.map((r) => r.record.versionId).sort()).toEqual([2, 3, 4, 5, 6]);
      expect((await h.records.history("Observation", record.id)).map((r) => r.versionId)).toEqual([6, 5, 4, 3, 2, 1]);
    });

    it("refuses an update whose body id differs from the URL's", async () => {
      const record = await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
      expect((await rejection(h.records.update(hospital, "Observation", record.id, { ...record.resource, id: "other" }))).toBody()).toMatchObject({
        type: "urn:consentry:problem:invalid-resource",
        path: "Observation.id",
      });
      const withoutId: Json = { ...record.resource };
      delete withoutId.id;
      expect((await rejection(h.records.update(hospital, "Observation", record.id, withoutId))).slug).toBe("invalid-resource");
    });

    it("lets only the creating custodian update a record", async () => {
      const record = await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
      // alice is enrolled with the clinic too, so only custodianship is at stake here.
      const problem = await rejection(h.records.update(clinic, "Observation", record.id, { ...record.resource, subject: byDid(alice) }));
      expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:wrong-custodian", status: 403 });
      expect((await h.records.read("Observation", record.id))!.versionId).toBe(1);
      // Even with a patient the clinic does not know, the answer is about custodianship.
      const bobs = await rejection(h.records.update(clinic, "Observation", record.id, { ...record.resource, subject: byDid(bob) }));
      expect(bobs.slug).toBe("wrong-custodian");
    });

    it("refuses an update that would move a record to another patient", async () => {
      const record = await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
      const problem = await rejection(h.records.update(hospital, "Observation", record.id, { ...record.resource, subject: byDid(bob) }));
      expect(problem.toBody()).toMatchObject({ type: "urn:consentry:problem:patient-mismatch", status: 422, path: "Observation.subject" });
    });
  });

  describe("reads and searches", () => {
    it("returns null for unknown ids and refuses unknown types", async () => {
      expect(await h.records.read("Observation", "nope")).toBeNull();
      expect(await h.records.history("Observation", "nope")).toEqual([]);
      expect((await rejection(h.records.read("Spaceship", "x"))).slug).toBe("unsupported-resource-type");
      expect((await rejection(h.records.search("Spaceship", alice))).slug).toBe("unsupported-resource-type");
      expect((await rejection(h.records.search("Observation", "not-an-address"))).slug).toBe("invalid-address");
    });

    it("finds the latest version of each of a patient's records of a type, across custodians", async () => {
      const carol = newAccount();
      await h.enrol(carol, hospital);
      await h.enrol(carol, clinic);
      const mine = [
        ...(await Promise.all(handMade(byDid(carol)).map((r) => h.records.create(hospital, r.resourceType, r)))),
        await h.records.create(clinic, "CarePlan", handMade(byDid(carol)).find((r) => r.resourceType === "CarePlan")!),
      ];
      const plans = await h.records.search("CarePlan", carol.toLowerCase());
      expect(plans.map((r) => r.id).sort()).toEqual(mine.filter((r) => r.type === "CarePlan").map((r) => r.id).sort());
      expect(new Set(plans.map((r) => r.custodian))).toEqual(new Set([hospital, clinic]));
      expect(await h.records.search("CarePlan", carol, { categories: 1 << 3 })).toEqual([]);
      expect(await h.records.search("Goal", bob)).toEqual([]);
    });
  });
});
