import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keccakReady } from "../../service/audit/keccak";
import { CLOCK_SKEW_MS } from "../../scripts/verify/time-range";
import { bits, buildStandardTree, CAT, PURPOSE, startTrailWorld, writeTrail, type TrailSummary, type TrailWorld, type WrittenBatch } from "../support/trail-fixture";
import { indexOfSeq, readLines, runVerifyCli, tempDir, verifyInProcess, withRecomputedLeaf, writeLines, type Line } from "./helpers";
import { READY_TIMEOUT_MS } from "../support/ready";

const STRANGER = "0x000000000000000000000000000000000000dEaD";

/**
 * One chain, one valid export of 600 events in batches of up to 100 (break-glass events in batches of
 * their own), and copies of it tampered with the ways a dishonest operator might try.
 */
describe("verify: integrity of an exported trail", () => {
  let dir: string;
  let world: TrailWorld;
  let valid: TrailSummary;
  let lines: Line[];
  /** Two batches of a hundred events, and an event in the middle of the first. */
  let b1: WrittenBatch;
  let b2: WrittenBatch;
  let mid: number;

  beforeAll(async () => {
    dir = tempDir();
    world = await startTrailWorld(dir, 6);
    valid = await writeTrail(world, join(dir, "valid.ndjson"), { events: 600, batchSize: 100, breakGlassRate: 0.02 });
    lines = readLines(valid.file);
    // Not the first batch: removing that one would turn the export into a valid mid-history one.
    [b1, b2] = valid.batches.slice(1).filter((b) => b.lastSeq - b.firstSeq >= 30);
    if (!b2) throw new Error("the fixture's seed no longer yields two batches of 31+ events");
    mid = b1.firstSeq + 15;
  }, READY_TIMEOUT_MS);

  afterAll(async () => {
    await world?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the valid export with `edit` applied to its parsed lines. */
  const tampered = (name: string, edit: (copy: Line[]) => Array<Line | string>) =>
    writeLines(join(dir, `${name}.ndjson`), edit(lines.map((l) => ({ ...l }))));
  const eventAt = (seq: number) => lines[indexOfSeq(lines, seq)];

  async function expectFirstFailure(file: string, expected: { reason: string; seq?: number | null; id?: string | null; batchId?: number; missing?: unknown }) {
    const result = await verifyInProcess(world, file);
    expect(result.ok).toBe(false);
    expect(result.firstFailure).toMatchObject(expected);
    return result.firstFailure!;
  }

  it("verifies the untouched export through the CLI: exit 0, report ok, break-glass listed", async () => {
    const report = join(dir, "valid-report.json");
    const run = await runVerifyCli(["--export", valid.file, "--rpc", world.url, "--deployment", world.deploymentFile, "--report", report]);
    expect(run.stdout).toContain("PASSED");
    expect(run.code).toBe(0);
    const r = JSON.parse(readFileSync(report, "utf8"));
    expect(r).toMatchObject({ ok: true, firstFailure: null });
    expect(r.checked).toMatchObject({ events: 600, batches: valid.batches.length, permits: valid.permits, breakGlass: valid.breakGlass, prunedBatches: 0 });
    expect(valid.breakGlass).toBeGreaterThan(0);
    expect(r.breakGlass).toHaveLength(valid.breakGlass);
    const flagged = lines.filter((l) => l.kind === "event" && l.decision === 4);
    expect(r.breakGlass.map((b: { seq: number }) => b.seq)).toEqual(flagged.map((l) => l.seq));
    expect(r.breakGlass[0]).toEqual({
      seq: flagged[0].seq,
      id: flagged[0].id,
      time: flagged[0].time,
      actor: (flagged[0].actor as string).toLowerCase(),
      patient: (flagged[0].patient as string).toLowerCase(),
      batchId: flagged[0].batchId,
    });
  });

  it("catches an edited field (actor): leaf-mismatch at that event", async () => {
    const file = tampered("edited-actor", (c) => {
      c[indexOfSeq(c, mid)].actor = STRANGER;
      return c;
    });
    await expectFirstFailure(file, { reason: "leaf-mismatch", seq: mid, id: eventAt(mid).id as string, batchId: b1.batchId });
  });

  it("catches a refusal turned into a permit: leaf-mismatch at that event", async () => {
    const refusal = lines.find((l) => l.kind === "event" && l.decision === 0 && (l.seq as number) > b1.firstSeq)!;
    const file = tampered("edited-decision", (c) => {
      c[indexOfSeq(c, refusal.seq as number)].decision = 1;
      return c;
    });
    await expectFirstFailure(file, { reason: "leaf-mismatch", seq: refusal.seq as number, id: refusal.id as string });
  });

  it("catches an edited event whose leaf was recomputed: proof-invalid at that event", async () => {
    const edited = await withRecomputedLeaf({ ...eventAt(mid), patient: STRANGER });
    const file = tampered("edited-relinked", (c) => {
      c[indexOfSeq(c, mid)] = edited;
      return c;
    });
    await expectFirstFailure(file, { reason: "proof-invalid", seq: mid, id: eventAt(mid).id as string });
  });

  /** The failure's account of a gap: the missing seqs and the exported events on either side, by seq and id. */
  const around = (fromSeq: number, toSeq: number) => ({
    fromSeq,
    toSeq,
    before: { seq: fromSeq - 1, id: eventAt(fromSeq - 1).id },
    after: { seq: toSeq + 1, id: eventAt(toSeq + 1).id },
  });

  it("catches a deleted event: event-missing at its seq, naming the events before and after it", async () => {
    const file = tampered("deleted", (c) => c.filter((_, i) => i !== indexOfSeq(c, mid)));
    const f = await expectFirstFailure(file, { reason: "event-missing", seq: mid, id: null, batchId: b1.batchId, missing: around(mid, mid) });
    expect(f.detail).toContain(`seq ${mid} is missing`);
    expect(f.detail).toContain(eventAt(mid - 1).id as string);
    expect(f.detail).toContain(eventAt(mid + 1).id as string);
  });

  it("catches the deletion of a batch's last event: event-missing at the missing seq, its neighbour in the next batch named", async () => {
    const file = tampered("deleted-last", (c) => c.filter((_, i) => i !== indexOfSeq(c, b1.lastSeq)));
    await expectFirstFailure(file, { reason: "event-missing", seq: b1.lastSeq, batchId: b1.batchId, missing: around(b1.lastSeq, b1.lastSeq) });
  });

  it("catches the deletion of a batch's first event: event-missing, its neighbour in the previous batch named", async () => {
    const file = tampered("deleted-first", (c) => c.filter((_, i) => i !== indexOfSeq(c, b2.firstSeq)));
    await expectFirstFailure(file, { reason: "event-missing", seq: b2.firstSeq, batchId: b2.batchId, missing: around(b2.firstSeq, b2.firstSeq) });
  });

  it("catches two consecutive deleted events as one run", async () => {
    const file = tampered("deleted-two", (c) => c.filter((l) => l.seq !== mid && l.seq !== mid + 1));
    const f = await expectFirstFailure(file, { reason: "event-missing", seq: mid, missing: around(mid, mid + 1) });
    expect(f.detail).toContain(`seq ${mid}..${mid + 1} are missing`);
  });

  it("catches a deleted event exported as the service would, its batch's tree rebuilt without it: event-missing, not proof-invalid", async () => {
    // Every proof of the batch now leads to another root, starting with its first event: a consequence, not the cause.
    await keccakReady();
    const file = tampered("deleted-rebuilt", (c) => {
      const kept = c.filter((l) => l.seq !== mid);
      const batch = kept.filter((l) => l.kind === "event" && l.batchId === b1.batchId);
      const tree = buildStandardTree(batch.map((l) => Buffer.from((l.leaf as string).slice(2), "hex")));
      batch.forEach((l, i) => (l.proof = tree.proof(i)));
      return kept;
    });
    await expectFirstFailure(file, { reason: "event-missing", seq: mid, batchId: b1.batchId, missing: around(mid, mid) });
  });

  it("catches two swapped events: sequence-gap at the first one out of place", async () => {
    const file = tampered("swapped", (c) => {
      const i = indexOfSeq(c, mid);
      [c[i], c[i + 1]] = [c[i + 1], c[i]];
      return c;
    });
    await expectFirstFailure(file, { reason: "sequence-gap", seq: mid + 1, id: eventAt(mid + 1).id as string });
  });

  it("catches two swapped events renumbered with recomputed leaves: hash-link-broken", async () => {
    const first = await withRecomputedLeaf({ ...eventAt(mid + 1), seq: mid });
    const second = await withRecomputedLeaf({ ...eventAt(mid), seq: mid + 1 });
    const file = tampered("swapped-renumbered", (c) => {
      const i = indexOfSeq(c, mid);
      c[i] = first;
      c[i + 1] = second;
      return c;
    });
    await expectFirstFailure(file, { reason: "hash-link-broken", seq: mid, id: eventAt(mid + 1).id as string });
  });

  it("catches a forged event inserted with a correct leaf and link: proof-invalid at the forgery", async () => {
    const forged = await withRecomputedLeaf({
      ...eventAt(mid),
      seq: mid + 1,
      id: "00000000-0000-4000-8000-00000000f0f0",
      prevHash: eventAt(mid).leaf,
      time: (eventAt(mid).time as number) + 1,
      proof: eventAt(mid + 1).proof,
    });
    const file = tampered("forged", (c) => {
      c.splice(indexOfSeq(c, mid) + 1, 0, forged);
      return c;
    });
    await expectFirstFailure(file, { reason: "proof-invalid", seq: mid + 1, id: forged.id as string });
  });

  it("catches a proof taken from another batch: proof-invalid", async () => {
    const file = tampered("foreign-proof", (c) => {
      c[indexOfSeq(c, mid)].proof = eventAt(b2.firstSeq + 15).proof;
      return c;
    });
    const f = await expectFirstFailure(file, { reason: "proof-invalid", seq: mid, batchId: b1.batchId });
    expect(f.detail).toContain(b1.root.toLowerCase());
  });

  it("catches an export cut short in the middle of a line: truncated", async () => {
    const text = readFileSync(valid.file, "utf8");
    const start = text.indexOf(`"seq":${mid},`);
    const file = join(dir, "cut-mid-line.ndjson");
    writeFileSync(file, text.slice(0, start + 40));
    await expectFirstFailure(file, { reason: "truncated", seq: mid, batchId: b1.batchId });
  });

  it("names the seq and the id of an event whose line is cut after its id: truncated", async () => {
    const text = readFileSync(valid.file, "utf8");
    const start = text.indexOf(`"seq":${mid},`);
    const file = join(dir, "cut-after-id.ndjson");
    writeFileSync(file, text.slice(0, text.indexOf('"time"', start) + 5));
    await expectFirstFailure(file, { reason: "truncated", seq: mid, id: eventAt(mid).id as string, batchId: b1.batchId });
  });

  it("catches an export cut short between two events of a batch: truncated", async () => {
    const file = tampered("cut-at-line", (c) => c.slice(0, indexOfSeq(c, mid) + 1));
    await expectFirstFailure(file, { reason: "truncated", seq: mid + 1, batchId: b1.batchId });
  });

  it("catches a missing end line: truncated", async () => {
    const file = tampered("no-end", (c) => c.slice(0, -1));
    const f = await expectFirstFailure(file, { reason: "truncated", seq: null });
    expect(f.detail).toContain("no end line");
  });

  it("catches a batch left out of the middle: sequence-gap at the next batch", async () => {
    const file = tampered("batch-removed", (c) => c.filter((l) => l.batchId !== b1.batchId));
    await expectFirstFailure(file, { reason: "sequence-gap", batchId: b1.batchId + 1, seq: b1.lastSeq + 1 });
  });

  it("catches an exported root that differs from the chain: root-mismatch", async () => {
    const file = tampered("root", (c) => {
      c.find((l) => l.kind === "batch" && l.batchId === b1.batchId)!.root = "0x" + "11".repeat(32);
      return c;
    });
    await expectFirstFailure(file, { reason: "root-mismatch", batchId: b1.batchId, seq: b1.firstSeq });
  });

  it("catches a batch range that differs from the chain: range-mismatch", async () => {
    const file = tampered("range", (c) => {
      c.find((l) => l.kind === "batch" && l.batchId === b1.batchId)!.lastSeq = b1.lastSeq - 1;
      return c;
    });
    await expectFirstFailure(file, { reason: "range-mismatch", batchId: b1.batchId, seq: b1.firstSeq });
  });

  it("catches a batch that was never anchored: batch-not-on-chain", async () => {
    const last = valid.batches[valid.batches.length - 1];
    const file = tampered("unanchored", (c) => [
      ...c.slice(0, -1),
      { kind: "batch", batchId: last.batchId + 100, root: "0x" + "22".repeat(32), firstSeq: last.lastSeq + 1, lastSeq: last.lastSeq + 1, txHash: null, blockNumber: null, pruned: true },
      { kind: "end", batches: valid.batches.length + 1, events: 600 },
    ]);
    // Batch ids must also follow on: jumping ahead by 100 is itself a gap, reported first.
    await expectFirstFailure(file, { reason: "sequence-gap", batchId: last.batchId + 100, seq: last.lastSeq + 1 });
    const next = tampered("unanchored-next", (c) => [
      ...c.slice(0, -1),
      { kind: "batch", batchId: last.batchId + 1, root: "0x" + "22".repeat(32), firstSeq: last.lastSeq + 1, lastSeq: last.lastSeq + 1, txHash: null, blockNumber: null, pruned: true },
      { kind: "end", batches: valid.batches.length + 1, events: 600 },
    ]);
    await expectFirstFailure(next, { reason: "batch-not-on-chain", batchId: last.batchId + 1, seq: last.lastSeq + 1 });
  });

  it("catches a header naming other leaf types for either format: header-mismatch", async () => {
    const header = lines[0] as Line & { leafTypes: string[]; leafTypesV1: string[] };
    expect(header).toMatchObject({ version: 2, leafTypes: expect.arrayContaining(["address"]) });
    expect(header.leafTypes).toHaveLength(13);
    expect(header.leafTypesV1).toHaveLength(12);
    await expectFirstFailure(tampered("types-v1-as-v2", (c) => [{ ...c[0], leafTypes: header.leafTypesV1 }, ...c.slice(1)]), { reason: "header-mismatch", seq: null });
    await expectFirstFailure(tampered("types-v1-missing", (c) => [{ ...c[0], leafTypesV1: undefined }, ...c.slice(1)]), { reason: "header-mismatch", seq: null });
    await expectFirstFailure(tampered("types-v1-wrong", (c) => [{ ...c[0], leafTypesV1: header.leafTypes }, ...c.slice(1)]), { reason: "header-mismatch", seq: null });
    await expectFirstFailure(tampered("version-3", (c) => [{ ...c[0], version: 3 }, ...c.slice(1)]), { reason: "header-mismatch", seq: null });
  });

  it("catches an event whose requester was edited: leaf-mismatch, the requester is anchored", async () => {
    const file = tampered("edited-requester", (c) => {
      c[indexOfSeq(c, mid)].requester = STRANGER;
      return c;
    });
    await expectFirstFailure(file, { reason: "leaf-mismatch", seq: mid, id: eventAt(mid).id as string });
  });

  it("catches a last batch with no event in the export's time range: time-out-of-range", async () => {
    const last = valid.batches[valid.batches.length - 1];
    const file = tampered("range-before-last", (c) => [{ ...c[0], to: new Date(eventAt(last.firstSeq).time as number).toISOString() }, ...c.slice(1)]);
    // Events from `to` on are outside [from, to); the earlier batches still lie wholly inside.
    expect(lines.filter((l) => l.kind === "event" && (l.seq as number) < last.firstSeq).every((l) => (l.time as number) < (eventAt(last.firstSeq).time as number))).toBe(true);
    await expectFirstFailure(file, { reason: "time-out-of-range", batchId: last.batchId, seq: last.firstSeq });
  });

  it("catches a header for another chain or contract: header-mismatch", async () => {
    await expectFirstFailure(tampered("chain-id", (c) => [{ ...c[0], chainId: 1 }, ...c.slice(1)]), { reason: "header-mismatch", seq: null });
    await expectFirstFailure(tampered("ledger", (c) => [{ ...c[0], accessLedger: world.institutions[0] }, ...c.slice(1)]), { reason: "header-mismatch", seq: null });
    await expectFirstFailure(tampered("headless", (c) => c.slice(1)), { reason: "header-mismatch", seq: null });
  });

  it("catches a garbled line and wrong end counts", async () => {
    const garbled = tampered("garbled", (c) => {
      c[indexOfSeq(c, mid)] = "{not json" as unknown as Line;
      return c;
    });
    await expectFirstFailure(garbled, { reason: "malformed-line", seq: mid });
    const counts = tampered("counts", (c) => [...c.slice(0, -1), { kind: "end", batches: valid.batches.length, events: 599 }]);
    await expectFirstFailure(counts, { reason: "count-mismatch", seq: null });
  });

  it("fails through the CLI with exit 1, naming the event and the reason", async () => {
    const file = tampered("cli-deleted", (c) => c.filter((_, i) => i !== indexOfSeq(c, mid)));
    const report = join(dir, "cli-failed.json");
    const run = await runVerifyCli(["--export", file, "--rpc", world.url, "--deployment", world.deploymentFile, "--report", report]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("FAILED");
    expect(run.stdout).toContain(`event-missing at event seq ${mid}`);
    expect(run.stdout).toContain(eventAt(mid + 1).id as string);
    expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({
      ok: false,
      firstFailure: { reason: "event-missing", seq: mid, missing: around(mid, mid), explanation: expect.stringContaining("deleted") },
    });
  });

  it("exits 2 when it cannot verify at all (chain unreachable, missing argument)", async () => {
    const report = join(dir, "unreachable.json");
    const unreachable = await runVerifyCli(["--export", valid.file, "--rpc", "http://127.0.0.1:9", "--deployment", world.deploymentFile, "--report", report]);
    expect(unreachable.code).toBe(2);
    expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({ ok: false, error: expect.any(String) });
    const usage = await runVerifyCli(["--rpc", world.url]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--export is required");
  });

  describe("a later export with pruned batches", () => {
    let later: TrailSummary;
    let firstLaterBatch: number;

    beforeAll(async () => {
      firstLaterBatch = world.cursor.nextBatchId;
      // Retention prunes the oldest batches; one more is pruned further on to check a second run.
      later = await writeTrail(world, join(dir, "later.ndjson"), {
        events: 400,
        batchSize: 50,
        breakGlassRate: 0,
        prune: (batchId) => batchId < firstLaterBatch + 3 || batchId === firstLaterBatch + 5,
      });
    }, 60_000);

    it("verifies pruned batches against their chain headers and reports them, starting mid-history", async () => {
      const result = await verifyInProcess(world, later.file);
      expect(result.firstFailure).toBeNull();
      expect(result.ok).toBe(true);
      const pruned = later.batches.filter((b) => b.pruned);
      expect(result.checked).toMatchObject({ batches: later.batches.length, prunedBatches: 4, events: 400 - pruned.reduce((n, b) => n + b.lastSeq - b.firstSeq + 1, 0) });
      expect(result.pruned).toEqual([
        { fromBatch: firstLaterBatch, toBatch: firstLaterBatch + 2, firstSeq: later.batches[0].firstSeq, lastSeq: later.batches[2].lastSeq },
        { fromBatch: firstLaterBatch + 5, toBatch: firstLaterBatch + 5, firstSeq: later.batches[5].firstSeq, lastSeq: later.batches[5].lastSeq },
      ]);
      expect(result.export).toMatchObject({ firstBatch: firstLaterBatch, firstSeq: 601 });
    });

    it("still catches a pruned batch whose header disagrees with the chain, and events smuggled after it", async () => {
      const copy = readLines(later.file);
      const prunedLine = copy.findIndex((l) => l.kind === "batch" && l.batchId === firstLaterBatch + 5);
      const wrongRoot = [...copy];
      wrongRoot[prunedLine] = { ...copy[prunedLine], root: "0x" + "33".repeat(32) };
      await expectFirstFailure(writeLines(join(dir, "pruned-root.ndjson"), wrongRoot), { reason: "root-mismatch", batchId: firstLaterBatch + 5, seq: later.batches[5].firstSeq });
      const smuggled = [...copy];
      smuggled.splice(prunedLine + 1, 0, { ...copy[copy.findIndex((l) => l.kind === "event")] });
      await expectFirstFailure(writeLines(join(dir, "pruned-smuggled.ndjson"), smuggled), { reason: "range-mismatch" });
    });
  });

  // After the pruned export, which expects its trail to continue from seq 601.
  describe("further trails: formats, break-glass batches and the time range", () => {
    let trails = 0;
    const next = (name: string) => join(dir, `${name}-${++trails}.ndjson`);
    const seqOfIndex = (t: TrailSummary, index: number) => t.firstSeq + index;
    const idOf = (t: TrailSummary, seq: number) => readLines(t.file).find((l) => l.kind === "event" && l.seq === seq)!.id as string;

    it("verifies a version 1 export: no format or requester, every event format 1, consent checked for the actor", async () => {
      const v1 = await writeTrail(world, next("v1"), { events: 120, batchSize: 40, breakGlassRate: 0.02, exportVersion: 1 });
      const v1Lines = readLines(v1.file);
      expect(v1Lines[0]).toMatchObject({ version: 1, leafTypes: expect.any(Array) });
      expect(v1Lines[0].leafTypes).toHaveLength(12);
      expect(v1Lines[0]).not.toHaveProperty("leafTypesV1");
      expect(v1Lines.filter((l) => l.kind === "event").every((l) => !("format" in l) && !("requester" in l))).toBe(true);
      const result = await verifyInProcess(world, v1.file);
      expect(result.firstFailure).toBeNull();
      expect(result.checked).toMatchObject({ events: 120, permits: v1.permits, denies: v1.denies });
      // A format 1 line claiming a requester other than its actor claims what its leaf does not hold.
      const claimed = [...v1Lines];
      const at = claimed.findIndex((l) => l.kind === "event" && l.decision === 1);
      claimed[at] = { ...claimed[at], requester: STRANGER };
      await expectFirstFailure(writeLines(next("v1-requester"), claimed), { reason: "malformed-line", seq: claimed[at].seq as number, id: claimed[at].id as string });
    });

    it("verifies a version 2 export holding format 1 events before format 2 ones", async () => {
      const mixed = await writeTrail(world, next("mixed"), { events: 150, batchSize: 40, breakGlassRate: 0.02, formatOf: (i) => (i < 70 ? 1 : 2) });
      const events = readLines(mixed.file).filter((l) => l.kind === "event");
      expect(events.filter((l) => l.format === 1)).toHaveLength(70);
      expect(events.filter((l) => l.format === 1).every((l) => l.requester === l.actor)).toBe(true);
      expect(events.some((l) => l.format === 2 && l.requester !== l.actor)).toBe(true); // consults
      const result = await verifyInProcess(world, mixed.file);
      expect(result.firstFailure).toBeNull();
      expect(result.checked).toMatchObject({ events: 150, leaves: 150, permits: mixed.permits, denies: mixed.denies });
    });

    it("catches a break-glass access anchored in a batch with other events: break-glass-not-isolated", async () => {
      const glass = { action: 1, decision: 4, categories: bits(CAT.medications), purposes: bits(PURPOSE.ETREAT), consentId: "0x" + "00".repeat(32) };
      const t = await writeTrail(world, next("glass-shared"), { events: 12, batchSize: 6, breakGlassRate: 0, isolateBreakGlass: false, override: (i) => (i === 3 ? glass : undefined) });
      const seq = seqOfIndex(t, 3);
      const f = await expectFirstFailure(t.file, { reason: "break-glass-not-isolated", seq, id: idOf(t, seq), batchId: t.batches[0].batchId });
      expect(f.detail).toContain(`${t.batches[0].firstSeq}..${t.batches[0].lastSeq}`);
    });

    it("catches an event of an interior batch outside the export's time range: time-out-of-range, even when a later event of its batch fails too", async () => {
      const from = world.cursor.nextTimeMs;
      const options = { events: 40, batchSize: 10, breakGlassRate: 0, range: { from }, override: (i: number) => (i === 15 ? { time: from - 2 * CLOCK_SKEW_MS } : undefined) };
      const t = await writeTrail(world, next("out-of-range"), options);
      const seq = seqOfIndex(t, 15);
      expect(t.range.from).toBe(from);
      await expectFirstFailure(t.file, { reason: "time-out-of-range", seq, id: idOf(t, seq), batchId: t.batches[1].batchId });
      // The batch's verdict needs its end; a failure further on in it must not hide the earlier event.
      const copy = readLines(t.file);
      copy[indexOfSeq(copy, seq + 2)].actor = STRANGER;
      await expectFirstFailure(writeLines(next("out-of-range-then-edited"), copy), { reason: "time-out-of-range", seq, id: idOf(t, seq) });
    });

    it("accepts events outside the time range in the first and last batches, which hold one inside", async () => {
      const from = world.cursor.nextTimeMs;
      const early = (i: number) => (i === 2 || i === 38 ? { time: from - 2 * CLOCK_SKEW_MS } : undefined);
      const t = await writeTrail(world, next("edges"), { events: 40, batchSize: 10, breakGlassRate: 0, range: { from }, override: early });
      const result = await verifyInProcess(world, t.file);
      expect(result.firstFailure).toBeNull();
      expect(result.export.from).toBe(new Date(from).toISOString());
    });
  });
});
