import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import fc from "fast-check";
import { exportLeaf, LEAF_TYPES, LEAF_TYPES_V1, leafHash, mismatches, processProof, standardRoot, type EventProof, type EventView, type ExportEvent } from "../../console/src/trail";
import { LEAF_TYPES as SERVICE_LEAF_TYPES, LEAF_TYPES_V1 as SERVICE_LEAF_TYPES_V1 } from "../../service/audit/access-event";
import { CATEGORIES, PURPOSES } from "../../service/domain/vocabulary";

/** The browser's leaf and Merkle code (console/src/trail.ts) against OpenZeppelin's reference library. */
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => "0x" + Buffer.from(b).toString("hex"));
const event = fc.record({
  format: fc.constantFrom(1 as const, 2 as const),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  id: fc.uuid(),
  time: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  actor: hex(20),
  requester: hex(20),
  patient: hex(20),
  action: fc.integer({ min: 1, max: 7 }),
  categories: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(String),
  purposes: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(String),
  decision: fc.integer({ min: 0, max: 7 }),
  consentId: hex(32),
  requestHash: hex(32),
  prevHash: hex(32),
});
type Fields = typeof event extends fc.Arbitrary<infer T> ? T : never;

const valuesOf = (e: Fields) => [
  e.seq,
  "0x" + e.id.replace(/-/g, ""),
  e.time,
  e.actor,
  ...(e.format === 1 ? [] : [e.requester]),
  e.patient,
  e.action,
  e.categories,
  e.purposes,
  e.decision,
  e.consentId,
  e.requestHash,
  e.prevHash,
];
const typesOf = (format: 1 | 2) => (format === 1 ? LEAF_TYPES_V1 : LEAF_TYPES);

describe("the console's trail rules", () => {
  it("use the leaf encoding the service anchors (docs/access-trail.md)", () => {
    expect(LEAF_TYPES).toEqual([...SERVICE_LEAF_TYPES]);
    expect(LEAF_TYPES_V1).toEqual([...SERVICE_LEAF_TYPES_V1]);
  });

  it("compute leaves, roots and proof walks exactly as StandardMerkleTree does", () => {
    fc.assert(
      fc.property(fc.constantFrom(1 as const, 2 as const), fc.array(event, { minLength: 1, maxLength: 9 }), (format, events) => {
        const types = typesOf(format);
        const rows = events.map((e) => valuesOf({ ...e, format }));
        const tree = StandardMerkleTree.of(rows, types);
        expect(standardRoot(rows.map((row) => leafHash(types, row)))).toBe(tree.root);
        rows.forEach((row, i) => {
          const leaf = leafHash(types, row);
          expect(leaf).toBe(tree.leafHash(row));
          expect(processProof(leaf, tree.getProof(i))).toBe(tree.root);
        });
      }),
      { numRuns: 40 },
    );
  });

  it("recompute an exported event's leaf from its fields (both formats)", () => {
    fc.assert(
      fc.property(event, (e) => {
        const line: ExportEvent = { kind: "event", batchId: 1, leaf: "", proof: [], ...e, requester: e.format === 1 ? e.actor : e.requester };
        expect(exportLeaf(line)).toBe(StandardMerkleTree.of([valuesOf(e)], typesOf(e.format)).leafHash(valuesOf(e)));
      }),
      { numRuns: 40 },
    );
  });

  it("refuse a proof whose committed values are not the event shown", () => {
    const tables = {
      categories: CATEGORIES.map((c) => ({ bit: c.bit, mask: 1 << c.bit, code: c.code, display: c.display })),
      purposes: PURPOSES.map((p) => ({ bit: p.bit, mask: 1 << p.bit, code: p.code, display: p.display })),
    };
    const shown: EventView = {
      id: "0b9f6c3e-1d2a-4c5b-8e7f-9a0b1c2d3e4f",
      seq: 7,
      time: "2026-11-27T10:00:00.000Z",
      actor: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
      requester: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
      patient: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
      action: "record.read",
      decision: "permit",
      categories: ["laboratory"],
      purposes: ["TREAT"],
      consentId: "0x" + "ab".repeat(32),
      breakGlass: false,
      batchId: 2,
    };
    const committed = [7, "0x0b9f6c3e1d2a4c5b8e7f9a0b1c2d3e4f", Date.parse(shown.time), shown.actor, shown.requester, shown.patient!, 1, 8, 1, 1, shown.consentId!, "0x" + "00".repeat(32), "0x" + "00".repeat(32)];
    const proof = (values: Array<string | number>): EventProof => ({
      eventId: shown.id,
      seq: 7,
      leafEncoding: LEAF_TYPES,
      leafValues: values,
      leaf: leafHash(LEAF_TYPES, values),
      proof: [],
      batch: {} as EventProof["batch"],
    });
    expect(mismatches(shown, proof(committed), tables)).toEqual([]);
    const asDeny = [...committed];
    asDeny[9] = 2;
    expect(mismatches(shown, proof(asDeny), tables)).toEqual([expect.stringMatching(/^decision/)]);
    const otherPatient = [...committed];
    otherPatient[5] = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
    expect(mismatches(shown, proof(otherPatient), tables)).toEqual([expect.stringMatching(/^patient/)]);
  });
});
