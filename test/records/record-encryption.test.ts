import { randomBytes } from "node:crypto";
import { accountDid, URI_SYSTEM } from "../../service/domain/fhir-identity";
import { IntegrityError } from "../../service/records/crypto/aes-gcm";
import { KeyRing } from "../../service/records/crypto/key-ring";
import type { StoredRecord } from "../../service/records/stored-record";
import { type Json, observation, syntheaSample } from "./builders";
import { CHAIN_ID, MASTER_KEY, newAccount, recordsHarness, type RecordsHarness } from "./support";

type Row = { resource_type: string; id: string; version_id: number; iv: Buffer; auth_tag: Buffer; ciphertext: Buffer };

describe("encryption at rest and erasure (real database)", () => {
  let h: RecordsHarness;
  const hospital = newAccount();
  const sample = syntheaSample();
  const syntheaPatient = sample[0];

  beforeAll(async () => {
    h = await recordsHarness();
  });
  afterAll(() => h.close());

  const byDid = (account: string) => ({ identifier: { system: URI_SYSTEM, value: accountDid(CHAIN_ID, account) } });

  /** Enrols a new patient with the Synthea patient's MRN-style identifier and stores their Patient and clinical records. */
  async function patientWithRecords(): Promise<{ patient: string; records: StoredRecord[] }> {
    const patient = newAccount();
    const mrn = { system: "https://github.com/synthetichealth/synthea", value: `${syntheaPatient.id}-${patient.slice(2, 10)}` };
    await h.enrol(patient, hospital, [mrn]);
    const patientRecord = await h.records.create(hospital, "Patient", { ...syntheaPatient, identifier: [...syntheaPatient.identifier, mrn] });
    const subject = { reference: `Patient/${patientRecord.id}` };
    const records = [patientRecord];
    for (const resource of sample.slice(2).filter((r) => ["Condition", "AllergyIntolerance", "DocumentReference", "Encounter"].includes(r.resourceType))) {
      const link = resource.resourceType === "AllergyIntolerance" ? { patient: subject } : { subject };
      records.push(await h.records.create(hospital, resource.resourceType, { ...resource, ...link }));
    }
    return { patient, records };
  }

  const rawRows = (): Promise<Row[]> =>
    h.dataSource.query("SELECT resource_type, id, version_id, iv, auth_tag, ciphertext FROM record_versions");
  const rowOf = async (r: Pick<StoredRecord, "type" | "id" | "versionId">): Promise<Row> =>
    (await h.dataSource.query("SELECT * FROM record_versions WHERE resource_type = $1 AND id = $2 AND version_id = $3", [r.type, r.id, r.versionId]))[0];
  const overwrite = (r: Pick<StoredRecord, "type" | "id" | "versionId">, sealed: Pick<Row, "iv" | "auth_tag" | "ciphertext">) =>
    h.dataSource.query("UPDATE record_versions SET iv = $1, auth_tag = $2, ciphertext = $3 WHERE resource_type = $4 AND id = $5 AND version_id = $6", [
      sealed.iv,
      sealed.auth_tag,
      sealed.ciphertext,
      r.type,
      r.id,
      r.versionId,
    ]);

  it("stores no plaintext of any resource: every column of every records table, as text and as hex", async () => {
    const { records } = await patientWithRecords();
    const dump = [
      ...(await h.dataSource.query("SELECT t::text AS row FROM record_versions t")),
      ...(await h.dataSource.query("SELECT t::text AS row FROM records t")),
      ...(await h.dataSource.query("SELECT t::text AS row FROM record_keys t")),
    ]
      .map((r: { row: string }) => r.row)
      .join("\n");
    const content = (type: string) => records.find((r) => r.type === type)!.resource as Json;
    expect(dump).toContain(records[0].id); // the dump is real: clear metadata is there
    const markers = [
      syntheaPatient.name[0].family, // the patient's name
      syntheaPatient.address[0].line[0],
      syntheaPatient.identifier.find((i: Json) => i.system === "http://hl7.org/fhir/sid/us-ssn").value,
      content("AllergyIntolerance").code.text, // what they are allergic to
      content("DocumentReference").content[0].attachment.data.slice(0, 40), // a clinical note
      content("Condition").code.coding[0].display,
    ];
    for (const marker of markers) {
      expect(typeof marker).toBe("string");
      expect(dump).not.toContain(marker);
      expect(dump.toLowerCase()).not.toContain(Buffer.from(marker as string).toString("hex"));
    }
    // Only the metadata needed for queries is in clear.
    const [head] = await h.dataSource.query("SELECT * FROM records WHERE resource_type = 'AllergyIntolerance' AND id = $1", [
      records.find((r) => r.type === "AllergyIntolerance")!.id,
    ]);
    expect(Object.keys(head).sort()).toEqual(["category", "custodian", "id", "last_updated", "patient", "resource_type", "version_id"]);
    expect(head).toMatchObject({ category: 6, custodian: hospital.toLowerCase(), version_id: 1 });
    const [key] = await h.dataSource.query("SELECT * FROM record_keys WHERE patient = $1", [head.patient]);
    expect(key.wrapped_key).toHaveLength(60);
    expect(key.key_version).toBe(1);
  });

  it("uses a fresh IV for every version, so identical bodies never give identical ciphertexts", async () => {
    const patient = newAccount();
    await h.enrol(patient, hospital);
    const first = await h.records.create(hospital, "Observation", observation("vital-signs", byDid(patient)));
    const { record: second } = await h.records.update(hospital, "Observation", first.id, first.resource);
    const [a, b] = [await rowOf(first), await rowOf(second)];
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it("fails loudly when ciphertexts are swapped between records, never returning the other record", async () => {
    const { records } = await patientWithRecords();
    const [x, y] = records.filter((r) => r.type === "Condition" || r.type === "Encounter");
    const [rx, ry] = [await rowOf(x), await rowOf(y)];
    await overwrite(x, ry);
    await overwrite(y, rx);
    await expect(h.records.read(x.type, x.id)).rejects.toThrow(IntegrityError);
    await expect(h.records.read(y.type, y.id)).rejects.toThrow(/failed authentication/);
    // A search touching a tampered row fails as a whole rather than silently skipping or misreporting.
    await expect(h.records.search(x.type, x.patient!)).rejects.toThrow(IntegrityError);
    await overwrite(x, rx);
    await overwrite(y, ry);
    expect((await h.records.read(x.type, x.id))!.resource).toEqual(x.resource);
  });

  it("fails when an older version's ciphertext is replayed as the latest", async () => {
    const patient = newAccount();
    await h.enrol(patient, hospital);
    const v1 = await h.records.create(hospital, "Observation", observation("laboratory", byDid(patient)));
    const { record: v2 } = await h.records.update(hospital, "Observation", v1.id, { ...v1.resource, status: "amended" });
    await overwrite(v2, await rowOf(v1));
    await expect(h.records.read("Observation", v1.id)).rejects.toThrow(IntegrityError);
  });

  it("fails when a record is moved to another patient, or a bit of it is flipped", async () => {
    const [alice, bob] = [newAccount(), newAccount()];
    await h.enrol(alice, hospital);
    await h.enrol(bob, hospital);
    const mine = await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
    await h.records.create(hospital, "Observation", observation("laboratory", byDid(bob))); // bob has a key too
    await h.dataSource.query("UPDATE record_versions SET patient = $1 WHERE id = $2", [bob.toLowerCase(), mine.id]);
    await h.dataSource.query("UPDATE records SET patient = $1 WHERE id = $2", [bob.toLowerCase(), mine.id]);
    await expect(h.records.read("Observation", mine.id)).rejects.toThrow(IntegrityError);
    await h.dataSource.query("UPDATE record_versions SET patient = $1 WHERE id = $2", [alice.toLowerCase(), mine.id]);
    await h.dataSource.query("UPDATE records SET patient = $1 WHERE id = $2", [alice.toLowerCase(), mine.id]);
    expect((await h.records.read("Observation", mine.id))!.patient).toBe(alice);

    const row = await rowOf(mine);
    const flipped = Buffer.from(row.ciphertext);
    flipped[flipped.length >> 1] ^= 1;
    await overwrite(mine, { ...row, ciphertext: flipped });
    await expect(h.records.read("Observation", mine.id)).rejects.toThrow(IntegrityError);
  });

  it("binds a wrapped data key to its patient: copied to another patient's row it does not unwrap", async () => {
    const [alice, bob] = [newAccount(), newAccount()];
    await h.enrol(alice, hospital);
    await h.enrol(bob, hospital);
    await h.records.create(hospital, "Observation", observation("laboratory", byDid(alice)));
    const bobs = await h.records.create(hospital, "Observation", observation("laboratory", byDid(bob)));
    await h.dataSource.query("UPDATE record_keys SET wrapped_key = (SELECT wrapped_key FROM record_keys WHERE patient = $1) WHERE patient = $2", [
      alice.toLowerCase(),
      bob.toLowerCase(),
    ]);
    await expect(h.records.read("Observation", bobs.id)).rejects.toThrow(/data key failed authentication/);
  });

  it("unwraps only under the master key that wrapped", () => {
    const patient = newAccount();
    const wrapped = new KeyRing({ MASTER_KEY }).newDataKey(patient);
    expect(new KeyRing({ MASTER_KEY: `0x${MASTER_KEY}` }).unwrap(patient, wrapped).equals(wrapped.key)).toBe(true);
    expect(() => new KeyRing({ MASTER_KEY: randomBytes(32).toString("hex") }).unwrap(patient, wrapped)).toThrow(IntegrityError);
    expect(() => new KeyRing({ MASTER_KEY: undefined as unknown as string })).toThrow(/MASTER_KEY is required/);
  });

  it("creates exactly one data key when a new patient's first records arrive concurrently", async () => {
    const patient = newAccount();
    await h.enrol(patient, hospital);
    const created = await Promise.all(Array.from({ length: 5 }, () => h.records.create(hospital, "Observation", observation("vital-signs", byDid(patient)))));
    expect(await h.dataSource.query("SELECT patient FROM record_keys WHERE patient = $1", [patient.toLowerCase()])).toHaveLength(1);
    expect((await h.records.search("Observation", patient)).map((r) => r.id).sort()).toEqual(created.map((r) => r.id).sort());
  });

  it("creates a record by update-as-create once, even when two PUTs race", async () => {
    const patient = newAccount();
    await h.enrol(patient, hospital);
    const body = { ...observation("vital-signs", byDid(patient)), id: `raced-${patient.slice(2, 10)}` };
    const results = await Promise.all([1, 2, 3].map(() => h.records.update(hospital, "Observation", body.id, body)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.map((r) => r.record.versionId).sort()).toEqual([1, 2, 3]);
  });

  describe("erasure (crypto-shredding)", () => {
    it("deletes every record, version and the data key of the patient, and nothing of anyone else", async () => {
      const erased = await patientWithRecords();
      const kept = await patientWithRecords();
      const condition = erased.records.find((r) => r.type === "Condition")!;
      await h.records.update(hospital, "Condition", condition.id, condition.resource); // a second version
      const shredded = await rowOf(condition);

      expect(await h.records.erase(erased.patient)).toEqual({ records: erased.records.length });

      const who = erased.patient.toLowerCase();
      for (const table of ["records", "record_versions", "record_keys"]) {
        expect(await h.dataSource.query(`SELECT 1 FROM ${table} WHERE patient = $1`, [who])).toEqual([]);
      }
      expect(await h.records.read("Condition", condition.id)).toBeNull();
      expect(await h.records.readVersion("Condition", condition.id, 1)).toBeNull();
      expect(await h.records.search("Condition", erased.patient)).toEqual([]);
      for (const r of kept.records) expect((await h.records.read(r.type, r.id))!.resource).toEqual(r.resource);
      expect(await h.records.erase(erased.patient)).toEqual({ records: 0 });

      // A copy of the ciphertext (a backup, a stale replica) stays unreadable: the key that sealed it is gone,
      // and a new record for the same patient gets a new key.
      await h.records.create(hospital, "Observation", observation("laboratory", byDid(erased.patient)));
      await h.dataSource.query(
        "INSERT INTO records (resource_type, id, patient, custodian, category, version_id, last_updated) VALUES ('Condition', $1, $2, $3, 2, 2, now())",
        [condition.id, who, hospital.toLowerCase()],
      );
      await h.dataSource.query(
        "INSERT INTO record_versions (resource_type, id, version_id, patient, custodian, category, last_updated, iv, auth_tag, ciphertext) VALUES ('Condition', $1, 2, $2, $3, 2, now(), $4, $5, $6)",
        [condition.id, who, hospital.toLowerCase(), shredded.iv, shredded.auth_tag, shredded.ciphertext],
      );
      await expect(h.records.read("Condition", condition.id)).rejects.toThrow(IntegrityError);
    });

    it("leaves the enrolment to the patients module", async () => {
      const { patient } = await patientWithRecords();
      await h.records.erase(patient);
      expect(await h.patients.find(patient, hospital)).not.toBeNull();
    });
  });

  it("reads the raw rows through the same driver as the service (sanity of the harness)", async () => {
    const rows = await rawRows();
    expect(rows.length).toBeGreaterThan(0);
    expect(Buffer.isBuffer(rows[0].ciphertext)).toBe(true);
  });
});
