import { AbiCoder, concat, getBytes, keccak256, ZeroAddress, ZeroHash } from "ethers";
import { ACTIONS, DECISIONS, type Code } from "./vocabulary";

/**
 * The access trail's leaf and Merkle rules (docs/access-trail.md), recomputed in the browser: the leaf from
 * the event's own fields, never the service's leaf hash; OpenZeppelin's StandardMerkleTree shape.
 */

/** Format 2's leaf types; format 1 has no `requester` (index 4). */
export const LEAF_TYPES = ["uint64", "bytes16", "uint64", "address", "address", "address", "uint8", "uint256", "uint256", "uint8", "bytes32", "bytes32", "bytes32"];
export const LEAF_TYPES_V1 = LEAF_TYPES.filter((_, i) => i !== 4);

const coder = AbiCoder.defaultAbiCoder();

/** keccak256(bytes.concat(keccak256(abi.encode(values)))). */
export function leafHash(types: readonly string[], values: readonly unknown[]): string {
  return keccak256(keccak256(coder.encode(types as string[], values as unknown[])));
}

/** keccak256 of the two nodes in ascending order (OpenZeppelin's commutative hash). */
export function hashPair(a: string, b: string): string {
  const [x, y] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
  return keccak256(concat([getBytes(x), getBytes(y)]));
}

/** The root a proof leads to from a leaf (MerkleProof.processProof). */
export function processProof(leaf: string, proof: readonly string[]): string {
  return proof.reduce((node, sibling) => hashPair(node, sibling), leaf).toLowerCase();
}

/** The root of the standard tree over these leaves (sorted, laid out as a complete binary tree in an array). */
export function standardRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) throw new RangeError("A Merkle tree needs at least one leaf");
  const sorted = leaves.map((l) => l.toLowerCase()).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  const size = 2 * sorted.length - 1;
  const nodes = new Array<string>(size);
  sorted.forEach((leaf, i) => (nodes[size - 1 - i] = leaf));
  for (let i = size - 1 - sorted.length; i >= 0; i--) nodes[i] = hashPair(nodes[2 * i + 1], nodes[2 * i + 2]);
  return nodes[0].toLowerCase();
}

/** An access event as GET /audit/events shows it. */
export interface EventView {
  id: string;
  seq: number;
  time: string;
  actor: string;
  requester: string;
  patient: string | null;
  action: string;
  decision: string;
  categories: string[];
  purposes: string[];
  consentId: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  breakGlass: boolean;
  justification?: string | null;
  batchId: number | null;
}

export interface BatchView {
  batchId: number;
  root: string;
  firstSeq: number;
  lastSeq: number;
  state: "built" | "submitted" | "confirmed";
  breakGlass: boolean;
  txHash: string | null;
  blockNumber: number | null;
  chainId: number;
  contract: string;
  eventsPruned: boolean;
}

/** GET /audit/events/{id}/proof. */
export interface EventProof {
  eventId: string;
  seq: number;
  leafEncoding: string[];
  leafValues: Array<string | number> | null;
  leaf: string;
  proof: string[];
  batch: BatchView;
}

const lower = (v: unknown) => String(v).toLowerCase();

/**
 * Where the displayed event and the values the proof commits to disagree (empty when they agree): the
 * proof must be about the very fields shown, not merely about some leaf.
 */
export function mismatches(event: EventView, proof: EventProof, tables: { categories: readonly Code[]; purposes: readonly Code[] }): string[] {
  const values = proof.leafValues;
  if (!values) return [];
  const types = proof.leafEncoding;
  const format = types.length === LEAF_TYPES.length ? 2 : 1;
  const at = (name: string): unknown => {
    const order = ["seq", "id", "time", "actor", "requester", "patient", "action", "categories", "purposes", "decision", "consentId", "requestHash", "prevHash"];
    const fields = format === 2 ? order : order.filter((f) => f !== "requester");
    return values[fields.indexOf(name)];
  };
  const problems: string[] = [];
  const expect = (name: string, shown: unknown, committed: unknown) => {
    if (lower(shown) !== lower(committed)) problems.push(`${name}: shown ${String(shown)}, committed ${String(committed)}`);
  };
  expect("seq", event.seq, at("seq"));
  expect("id", "0x" + event.id.replace(/-/g, ""), at("id"));
  expect("time", Date.parse(event.time), at("time"));
  expect("actor", event.actor, at("actor"));
  if (format === 2) expect("requester", event.requester, at("requester"));
  expect("patient", event.patient ?? ZeroAddress, at("patient"));
  expect("action", ACTIONS[event.action], at("action"));
  expect("decision", DECISIONS[event.decision], at("decision"));
  expect("consent", event.consentId ?? ZeroHash, at("consentId"));
  // Categories may be withheld from a requester's refused read (shown empty); otherwise they must match.
  if (event.categories.length > 0) expect("categories", maskOfCodes(event.categories, tables.categories), at("categories"));
  expect("purposes", maskOfCodes(event.purposes, tables.purposes), at("purposes"));
  if (types.join() !== (format === 2 ? LEAF_TYPES : LEAF_TYPES_V1).join()) problems.push("leaf encoding differs from docs/access-trail.md");
  return problems;
}

function maskOfCodes(codes: readonly string[], table: readonly Code[]): string {
  let mask = 0n;
  for (const code of codes) {
    const entry = table.find((c) => c.code === code);
    if (entry) mask |= 1n << BigInt(entry.bit);
  }
  return mask.toString();
}

/** One event line of the export (docs/access-trail.md). */
export interface ExportEvent {
  kind: "event";
  format?: 1 | 2;
  batchId: number;
  seq: number;
  id: string;
  time: number;
  actor: string;
  requester?: string;
  patient: string;
  action: number;
  categories: string;
  purposes: string;
  decision: number;
  consentId: string;
  requestHash: string;
  prevHash: string;
  leaf: string;
  proof: string[];
}

/** The leaf of an exported event, recomputed from its fields. */
export function exportLeaf(e: ExportEvent): string {
  const id = "0x" + e.id.replace(/-/g, "");
  const head = [e.seq, id, e.time, e.actor];
  const tail = [e.patient, e.action, e.categories, e.purposes, e.decision, e.consentId, e.requestHash, e.prevHash];
  return (e.format ?? 1) === 1 ? leafHash(LEAF_TYPES_V1, [...head, ...tail]) : leafHash(LEAF_TYPES, [...head, e.requester ?? e.actor, ...tail]);
}
