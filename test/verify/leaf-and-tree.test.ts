import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, keccak256 } from "ethers";
import fc from "fast-check";
import { BoundedMap } from "../../scripts/verify/bounded-map";
import { intervalOf } from "../../scripts/verify/chain-reader";
import { Keccak } from "../../scripts/verify/keccak";
import { LeafEncoder, leafHash } from "../../scripts/verify/leaf";
import { bytesHex, processProof } from "../../scripts/verify/merkle";
import { FormatError, LEAF_TYPES, parseLine, type EventLine, type LeafFields } from "../../scripts/verify/trail-format";
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
const leafFields: fc.Arbitrary<LeafFields> = fc.record({
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  idHex: hex(16),
  time: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  actor: hex(20),
  patient: hex(20),
  action: fc.integer({ min: 0, max: 255 }),
  categories: uint256,
  purposes: uint256,
  decision: fc.integer({ min: 0, max: 255 }),
  consentId: hex(32),
  requestHash: hex(32),
  prevHash: hex(32),
});
const values = (f: LeafFields) => [f.seq, f.idHex, f.time, f.actor, f.patient, f.action, f.categories, f.purposes, f.decision, f.consentId, f.requestHash, f.prevHash];

describe("leaf", () => {
  it("encodes exactly as abi.encode of the spec's types", () => {
    const encoder = new LeafEncoder();
    fc.assert(
      fc.property(leafFields, (f) => {
        expect("0x" + encoder.encode(f).toString("hex")).toBe(AbiCoder.defaultAbiCoder().encode([...LEAF_TYPES], values(f)));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes as StandardMerkleTree.leafHash and as keccak256(keccak256(abi.encode)) in ethers", () => {
    const encoder = new LeafEncoder();
    fc.assert(
      fc.property(fc.array(leafFields, { minLength: 1, maxLength: 4 }), (all) => {
        const tree = StandardMerkleTree.of(all.map(values), [...LEAF_TYPES]);
        for (const f of all) {
          const ours = bytesHex(leafHash(keccak, encoder, f));
          expect(ours).toBe(tree.leafHash(values(f)));
          expect(ours).toBe(keccak256(keccak256(AbiCoder.defaultAbiCoder().encode([...LEAF_TYPES], values(f)))));
        }
      }),
      { numRuns: 50 },
    );
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
