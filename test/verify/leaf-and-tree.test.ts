import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, keccak256 } from "ethers";
import fc from "fast-check";
import { BoundedMap } from "../../scripts/verify/bounded-map";
import { intervalOf } from "../../scripts/verify/chain-reader";
import { Keccak } from "../../scripts/verify/keccak";
import { LeafEncoder, leafHash } from "../../scripts/verify/leaf";
import { bytesHex, processProof } from "../../scripts/verify/merkle";
import { CheckQueue } from "../../scripts/verify/check-queue";
import { VerificationFailure, type Failure } from "../../scripts/verify/failures";
import { peekLine } from "../../scripts/verify/line-peek";
import { CLOCK_SKEW_MS, TimeRangeCheck } from "../../scripts/verify/time-range";
import { FormatError, LEAF_TYPES, LEAF_TYPES_V1, parseLine, type EventLine, type HeaderLine, type LeafFields } from "../../scripts/verify/trail-format";
import { LEAF_TYPES as SERVICE_LEAF_TYPES, LEAF_TYPES_V1 as SERVICE_LEAF_TYPES_V1 } from "../../service/audit/access-event";
import { keccakReady } from "../../service/audit/keccak";
import { buildStandardTree } from "../support/trail-fixture";

/** The verifier's own leaf and proof code against the reference implementations, without a chain. */
let keccak: Keccak;
beforeAll(async () => {
  keccak = await Keccak.create();
  await keccakReady(); // the service's tree builder, which the fixture uses
});

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => "0x" + Buffer.from(b).toString("hex"));
const uint256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
/** Fields of either format; a format 1 event's requester is its actor (not in its leaf). */
const fieldsOfFormat = (format: 1 | 2): fc.Arbitrary<LeafFields> =>
  fc
    .record({
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      idHex: hex(16),
      time: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      actor: hex(20),
      requester: hex(20),
      patient: hex(20),
      action: fc.integer({ min: 0, max: 255 }),
      categories: uint256,
      purposes: uint256,
      decision: fc.integer({ min: 0, max: 255 }),
      consentId: hex(32),
      requestHash: hex(32),
      prevHash: hex(32),
    })
    .map((f) => ({ ...f, format, requester: format === 1 ? f.actor : f.requester }));
const leafFieldsV1 = fieldsOfFormat(1);
const leafFieldsV2 = fieldsOfFormat(2);
const leafFields = leafFieldsV2;
const typesOf = (format: 1 | 2): string[] => [...(format === 1 ? LEAF_TYPES_V1 : LEAF_TYPES)];
const values = (f: LeafFields) => [
  f.seq,
  f.idHex,
  f.time,
  f.actor,
  ...(f.format === 1 ? [] : [f.requester]),
  f.patient,
  f.action,
  f.categories,
  f.purposes,
  f.decision,
  f.consentId,
  f.requestHash,
  f.prevHash,
];

describe("leaf", () => {
  it("names the spec's types: format 2 has requester after actor, format 1 is format 2 without it, as the service's", () => {
    expect(LEAF_TYPES).toHaveLength(13);
    expect(LEAF_TYPES[4]).toBe("address");
    expect(LEAF_TYPES_V1).toEqual(LEAF_TYPES.filter((_, i) => i !== 4));
    expect([...LEAF_TYPES]).toEqual([...SERVICE_LEAF_TYPES]);
    expect([...LEAF_TYPES_V1]).toEqual([...SERVICE_LEAF_TYPES_V1]);
  });

  it.each([1, 2] as const)("encodes a format %i leaf exactly as abi.encode of its types", (format) => {
    const encoder = new LeafEncoder();
    fc.assert(
      fc.property(format === 1 ? leafFieldsV1 : leafFieldsV2, (f) => {
        expect("0x" + encoder.encode(f).toString("hex")).toBe(AbiCoder.defaultAbiCoder().encode(typesOf(format), values(f)));
      }),
      { numRuns: 300 },
    );
  });

  it.each([1, 2] as const)("hashes a format %i leaf as StandardMerkleTree.leafHash and as keccak256(keccak256(abi.encode)) in ethers", (format) => {
    const encoder = new LeafEncoder();
    fc.assert(
      fc.property(fc.array(format === 1 ? leafFieldsV1 : leafFieldsV2, { minLength: 1, maxLength: 4 }), (all) => {
        const tree = StandardMerkleTree.of(all.map(values), typesOf(format));
        for (const f of all) {
          const ours = bytesHex(leafHash(keccak, encoder, f));
          expect(ours).toBe(tree.leafHash(values(f)));
          expect(ours).toBe(keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(typesOf(format), values(f)))));
        }
      }),
      { numRuns: 50 },
    );
  });

  it("verifies a format 2 proof with StandardMerkleTree.verify over the 13 types, and the requester is bound by the leaf", () => {
    const encoder = new LeafEncoder();
    const fields = fc.sample(leafFieldsV2, { numRuns: 9, seed: 13 });
    const tree = buildStandardTree(fields.map((f) => leafHash(keccak, encoder, f)));
    const reference = StandardMerkleTree.of(fields.map(values), [...LEAF_TYPES]);
    expect(bytesHex(tree.root)).toBe(reference.root);
    for (const [i, f] of fields.entries()) {
      expect(StandardMerkleTree.verify(reference.root, [...LEAF_TYPES], values(f), tree.proof(i))).toBe(true);
      // The same event claiming its actor as requester is another leaf: the requester cannot be swapped unseen.
      expect(StandardMerkleTree.verify(reference.root, [...LEAF_TYPES], values({ ...f, requester: f.actor }), tree.proof(i))).toBe(false);
    }
    // A format 1 leaf of the same fields never equals the format 2 one, so a format cannot be claimed falsely either.
    expect(bytesHex(leafHash(keccak, encoder, { ...fields[0], format: 1, requester: fields[0].actor }))).not.toBe(bytesHex(leafHash(keccak, encoder, fields[0])));
  });
});

describe("standard tree (fixture) and proof check (verifier)", () => {
  const encoder = new LeafEncoder();
  const sample = (n: number, seed: number): LeafFields[] => fc.sample(leafFields, { numRuns: n, seed });

  it.each([1, 2, 3, 7, 64, 333])("matches StandardMerkleTree's root and proofs for %i leaves", (n) => {
    const fields = sample(n, n);
    const leaves = fields.map((f) => leafHash(keccak, encoder, f));
    const ours = buildStandardTree(leaves);
    const reference = StandardMerkleTree.of(fields.map(values), [...LEAF_TYPES]);
    expect(bytesHex(ours.root)).toBe(reference.root);
    for (let i = 0; i < n; i++) {
      expect(ours.proof(i)).toEqual(reference.getProof(i));
      expect(StandardMerkleTree.verify(reference.root, [...LEAF_TYPES], values(fields[i]), ours.proof(i))).toBe(true);
      expect(bytesHex(processProof(keccak, leaves[i], ours.proof(i).map((p) => Buffer.from(p.slice(2), "hex"))))).toBe(reference.root);
    }
  });

  it("rejects a proof from another tree", () => {
    const a = sample(10, 1).map((f) => leafHash(keccak, encoder, f));
    const b = sample(10, 2).map((f) => leafHash(keccak, encoder, f));
    const treeA = buildStandardTree(a);
    const treeB = buildStandardTree(b);
    const foreign = treeB.proof(3).map((p) => Buffer.from(p.slice(2), "hex"));
    expect(Buffer.compare(processProof(keccak, a[3], foreign), treeA.root)).not.toBe(0);
  });
});

describe("parseLine", () => {
  /** A version 1 export's event line: no format, no requester. */
  const event = {
    kind: "event",
    batchId: 1,
    seq: 1,
    id: "0b7e4d2a-5c1f-4e8a-9d3b-1f2e3d4c5b6a",
    time: 1_764_000_000_000,
    actor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    patient: "0x0000000000000000000000000000000000000000",
    action: 1,
    categories: "8",
    purposes: "1",
    decision: 1,
    consentId: "0x" + "ab".repeat(32),
    requestHash: "0x" + "cd".repeat(32),
    prevHash: "0x" + "00".repeat(32),
    leaf: "0x" + "ef".repeat(32),
    proof: ["0x" + "12".repeat(32)],
  };

  it("reads an event, taking the UUID and the 0x form of the id alike", () => {
    const a = parseLine(JSON.stringify(event)) as EventLine;
    const b = parseLine(JSON.stringify({ ...event, id: "0x0b7e4d2a5c1f4e8a9d3b1f2e3d4c5b6a" })) as EventLine;
    expect(a.idHex).toBe("0x0b7e4d2a5c1f4e8a9d3b1f2e3d4c5b6a");
    expect(b.idHex).toBe(a.idHex);
    expect(a.actor).toBe("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    expect(a.categories).toBe(8n);
    expect(a.proof[0]).toEqual(Buffer.alloc(32, 0x12));
  });

  it.each([
    ["not JSON", "{"],
    ["an unknown kind", JSON.stringify({ kind: "note" })],
    ["categories as a number", JSON.stringify({ ...event, categories: 8 })],
    ["a short address", JSON.stringify({ ...event, actor: "0x1234" })],
    ["a bad proof node", JSON.stringify({ ...event, proof: ["0x" + "zz".repeat(32)] })],
    ["action beyond uint8", JSON.stringify({ ...event, action: 256 })],
    ["a fractional seq", JSON.stringify({ ...event, seq: 1.5 })],
    ["an id that is neither form", JSON.stringify({ ...event, id: "event-1" })],
  ])("refuses %s", (_name, text) => {
    expect(() => parseLine(text)).toThrow(FormatError);
  });

  const consult = { ...event, format: 2, requester: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" };

  it("reads a version 2 event: its format and requester; format 1 lines repeat the actor as requester", () => {
    const v2 = parseLine(JSON.stringify(consult), 2) as EventLine;
    expect(v2).toMatchObject({ format: 2, actor: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", requester: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" });
    const v1InV2 = parseLine(JSON.stringify({ ...event, format: 1, requester: event.actor }), 2) as EventLine;
    expect(v1InV2).toMatchObject({ format: 1, requester: v1InV2.actor });
    const v1 = parseLine(JSON.stringify(event), 1) as EventLine;
    expect(v1).toMatchObject({ format: 1, requester: v1.actor });
  });

  it.each([
    ["a version 2 event without a format", JSON.stringify({ ...consult, format: undefined }), 2],
    ["a format 2 event without a requester", JSON.stringify({ ...consult, requester: undefined }), 2],
    ["a format 1 event naming a requester other than its actor", JSON.stringify({ ...consult, format: 1 }), 2],
    ["a format 2 event in a version 1 export", JSON.stringify(consult), 1],
    ["format 3", JSON.stringify({ ...consult, format: 3 }), 2],
  ])("refuses %s", (_name, text, version) => {
    expect(() => parseLine(text, version)).toThrow(FormatError);
  });

  it("reads the header's range as unix ms and refuses one that is not an ISO 8601 instant", () => {
    const header = { kind: "header", version: 2, chainId: 31337, accessLedger: event.actor, consentRegistry: event.actor, from: "2025-11-24T16:00:00.000Z", to: "2025-11-24T17:00:00Z", leafTypes: [...LEAF_TYPES], leafTypesV1: [...LEAF_TYPES_V1] };
    expect(parseLine(JSON.stringify(header))).toMatchObject({ from: Date.UTC(2025, 10, 24, 16), to: Date.UTC(2025, 10, 24, 17), leafTypesV1: [...LEAF_TYPES_V1] } satisfies Partial<HeaderLine>);
    expect(() => parseLine(JSON.stringify({ ...header, from: "yesterday" }))).toThrow(FormatError);
    expect(() => parseLine(JSON.stringify({ ...header, to: 1_764_000_000_000 }))).toThrow(FormatError);
  });
});

describe("peekLine", () => {
  it("names the seq and id of a cut event line when they survived whole, and nothing it cannot read", () => {
    const line = JSON.stringify({ kind: "event", format: 2, batchId: 3, seq: 316, id: "0b7e4d2a-5c1f-4e8a-9d3b-1f2e3d4c5b6a", time: 1 });
    const cut = line.slice(0, line.indexOf('"time"') + 3);
    expect(peekLine(cut)).toEqual({ kind: "event", seq: 316, id: "0b7e4d2a-5c1f-4e8a-9d3b-1f2e3d4c5b6a", batchId: 3 });
    expect(peekLine(line.slice(0, line.indexOf('"id"') + 12))).toEqual({ kind: "event", seq: 316, id: null, batchId: 3 });
    expect(peekLine(line.slice(0, line.indexOf('"seq"') + 7))).toEqual({ kind: "event", seq: null, id: null, batchId: 3 });
    expect(peekLine("{not json")).toEqual({ kind: null, seq: null, id: null, batchId: null });
  });
});

describe("first failure in trail order", () => {
  const at = (seq: number) => ({ seq, id: `e${seq}`, batchId: 1, line: seq + 2 });
  const failing = (ms: number): Promise<Failure> => new Promise((r) => setTimeout(() => r({ reason: "consent-mismatch", detail: "x" }), ms));

  it("reports the lowest seq whichever answer arrives first, even after settling part of the window", async () => {
    const queue = new CheckQueue();
    queue.add(at(10), Promise.resolve(null));
    queue.add(at(11), failing(30)); // answers last
    queue.add(at(12), failing(1)); // answers first
    let thrown: unknown;
    await queue.settle(1).catch((e: unknown) => (thrown = e));
    expect(thrown).toBeInstanceOf(VerificationFailure);
    // The old verifier asked the checks still in flight again here, and named seq 12.
    expect(await queue.earliest((thrown as VerificationFailure).failure)).toMatchObject({ seq: 11, id: "e11" });
  });

  it("lets a check in flight for an earlier event win over a failure found later, but not an RPC error after it", async () => {
    const queue = new CheckQueue();
    queue.add(at(5), failing(5));
    queue.add(at(9), Promise.reject(new Error("rpc down")));
    const later = { ...at(7), reason: "leaf-mismatch" as const, detail: "y" };
    expect(await queue.earliest(later)).toMatchObject({ seq: 5, reason: "consent-mismatch" });
    const other = new CheckQueue();
    other.add(at(9), Promise.reject(new Error("rpc down")));
    expect(await other.earliest(later)).toBe(later);
  });
});

describe("time range", () => {
  it("allows the first and last batches events outside [from, to) if one is inside, and interior batches none beyond the clock skew", () => {
    const [from, to] = [1_000_000, 2_000_000];
    const far = CLOCK_SKEW_MS + 1;
    const range = new TimeRangeCheck(from, to);
    range.open(1, 1, 2, false);
    range.event(1, "a", from - far, 3);
    range.event(2, "b", from, 4);
    expect(range.closeBeforeNext(5, true)).toBeNull();
    range.open(2, 3, 4, false);
    range.event(3, "c", 1_500_000, 6);
    range.event(4, "d", to + far, 7);
    expect(range.ifInterior()).toMatchObject({ seq: 4, id: "d" });
    expect(range.closeAtEnd(8, true)).toBeNull(); // the last batch: d may lie outside
    const interior = new TimeRangeCheck(from, to);
    interior.open(1, 1, 1, false);
    interior.event(1, "a", from, 3);
    interior.closeBeforeNext(4, true);
    interior.open(2, 2, 3, false);
    interior.event(2, "b", to + far, 5);
    interior.event(3, "c", from - far, 6);
    expect(interior.closeBeforeNext(7, true)).toMatchObject({ reason: "time-out-of-range", seq: 2, id: "b", batchId: 2 });
    const empty = new TimeRangeCheck(from, to);
    empty.open(1, 1, 1, false);
    empty.event(1, "a", to, 3);
    expect(empty.closeAtEnd(4, true)).toMatchObject({ reason: "time-out-of-range", seq: 1, id: null, batchId: 1 });
  });

  it("tolerates interior events out of step with the range by less than the clock skew (block time ahead of the wall clock)", () => {
    const [from, to] = [1_000_000, 2_000_000];
    const range = new TimeRangeCheck(from, to);
    range.open(1, 1, 1, false);
    range.event(1, "a", from, 3);
    range.closeBeforeNext(4, true);
    range.open(2, 2, 3, false);
    range.event(2, "b", to + CLOCK_SKEW_MS - 1, 5);
    range.event(3, "c", from - CLOCK_SKEW_MS, 6);
    expect(range.closeBeforeNext(7, true)).toBeNull();
  });
});

describe("caches", () => {
  it("BoundedMap forgets the least recently used entry", () => {
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.get("a");
    m.set("c", 3);
    expect([m.get("a"), m.get("b"), m.get("c"), m.size]).toEqual([1, undefined, 3, 2]);
  });

  it("intervalOf counts the boundaries at or before a time", () => {
    const b = [10, 20, 30];
    expect([5, 10, 19, 20, 29, 30, 99].map((t) => intervalOf(b, t))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });
});
