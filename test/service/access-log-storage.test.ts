import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { DataSource } from "typeorm";
import { leafHash } from "../../service/audit/access-event";
import { AccessEventRepository, type AccessEventDraft } from "../../service/audit/access-event.repository";
import { AccessEventEntity, AccessLogHeadEntity } from "../../service/audit/audit.entities";
import { keccakReady } from "../../service/audit/keccak";
import { dataSourceOptions } from "../../service/database/data-source";
import { testDatabase, type TestDatabase } from "../support/database";

/**
 * The group commit writes a whole group as one statement of arrays (one text, planned once). Values that
 * array literals must escape — quotes, braces, commas, backslashes, the word NULL, non-ASCII — and real
 * NULLs must come back exactly as written, in groups of one and of thousands, on PostgreSQL and PGlite.
 */
describe("the access log's storage", () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let repository: AccessEventRepository;

  beforeAll(async () => {
    await keccakReady();
    database = await testDatabase();
    dataSource = new DataSource({ ...dataSourceOptions(database.settings), entities: [AccessEventEntity, AccessLogHeadEntity] });
    await dataSource.initialize();
    repository = new AccessEventRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const hostile = ['a "quoted" {brace}, comma', "back\\slash", "NULL", "null", "", "Ünïcødé 患者 🩺", "line\nbreak\ttab", "'single'"];

  function draft(i: number): AccessEventDraft {
    const text = (k: number) => hostile[(i + k) % hostile.length];
    return {
      id: randomUUID(),
      timeMs: 1_790_000_000_000 + i,
      actor: "0x" + "a1".repeat(20),
      requester: "0x" + "b2".repeat(20),
      patient: "0x" + "c3".repeat(20),
      action: 1 + (i % 3),
      categories: 1 << (i % 12),
      purposes: 1,
      decision: i % 5,
      consentId: "0x" + "00".repeat(32),
      requestHash: "0x" + (i % 256).toString(16).padStart(2, "0").repeat(32),
      resourceType: i % 4 === 0 ? null : "Condition",
      resourceId: i % 3 === 0 ? null : text(1),
      justification: i % 2 === 0 ? null : text(2),
    };
  }

  it.each([1, 2, 3_500])("stores a group of %i exactly as given, hash-linked from the head", async (size) => {
    const drafts = Array.from({ length: size }, (_, i) => draft(i));
    const before = await repository.lastSeq();
    const written = await repository.append(drafts);
    const stored = await repository.eventsFrom(before + 1, size + 10);
    expect(stored).toHaveLength(size);
    stored.forEach((event, i) => {
      const d = drafts[i];
      expect(event).toMatchObject({ ...d, seq: before + 1 + i, format: 2, batchId: null, leaf: written[i].leaf });
      expect(event.leaf).toBe("0x" + leafHash(event).toString("hex"));
      expect(event.prevHash).toBe(i === 0 ? written[0].prevHash : stored[i - 1].leaf);
    });
    expect(await repository.lastSeq()).toBe(before + size);
  });
});
