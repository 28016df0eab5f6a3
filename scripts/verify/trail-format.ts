/**
 * The export format of docs/access-trail.md, as the verifier reads it: line kinds, field types and the
 * parsing of one NDJSON line into a checked, typed value.
 *
 * Deliberately self-contained (no import from service/): the verifier must not trust code the
 * service's operator controls, so the spec is restated here and cross-checked in tests.
 */

/** ABI types of format 2's leaf fields, in the order of the spec's table. Part of the anchored format. */
export const LEAF_TYPES = [
  "uint64", // seq
  "bytes16", // id
  "uint64", // time (unix ms)
  "address", // actor
  "address", // requester
  "address", // patient
  "uint8", // action
  "uint256", // categories
  "uint256", // purposes
  "uint8", // decision
  "bytes32", // consentId
  "bytes32", // requestHash
  "bytes32", // prevHash
] as const;

/** Format 1's leaf types: format 2's without `requester`. Events keep the format they were anchored in. */
export const LEAF_TYPES_V1 = [
  "uint64", // seq
  "bytes16", // id
  "uint64", // time (unix ms)
  "address", // actor
  "address", // patient
  "uint8", // action
  "uint256", // categories
  "uint256", // purposes
  "uint8", // decision
  "bytes32", // consentId
  "bytes32", // requestHash
  "bytes32", // prevHash
] as const;

export type EventFormat = 1 | 2;

/** Export versions this verifier reads: 1 (all events format 1, no requester) and 2 (per-event format). */
export const EXPORT_VERSIONS: readonly number[] = [1, 2];

/** Decisions (docs/access-trail.md). */
export const Decision = {
  NoConsent: 0,
  Permit: 1,
  Deny: 2,
  Self: 3,
  BreakGlass: 4,
  Unavailable: 5,
  Rejected: 6,
  Recorded: 7,
} as const;

/** PurposeOfUse bit 1: emergency treatment, the only purpose under which break-glass is allowed. */
export const PURPOSE_ETREAT = 1n << 1n;

export const ZERO_HASH = "0x" + "00".repeat(32);
export const ZERO_ADDRESS = "0x" + "00".repeat(20);

/**
 * The anchored fields. Hex values are normalised to lower case; `idHex` is 0x + 32 hex digits.
 * `requester` is part of the leaf only in format 2; in format 1 it equals `actor`, so consent checks can
 * always ask about `requester`.
 */
export interface LeafFields {
  format: EventFormat;
  seq: number;
  idHex: string;
  time: number;
  actor: string;
  requester: string;
  patient: string;
  action: number;
  categories: bigint;
  purposes: bigint;
  decision: number;
  consentId: string;
  requestHash: string;
  prevHash: string;
}

export interface HeaderLine {
  kind: "header";
  version: number;
  chainId: number;
  accessLedger: string;
  consentRegistry: string;
  /** The export's time range [from, to), unix ms (ISO 8601 in the file). */
  from: number;
  to: number;
  leafTypes: string[];
  /** Format 1's leaf types; version 2 only. */
  leafTypesV1: string[] | null;
}

export interface BatchLine {
  kind: "batch";
  batchId: number;
  root: string;
  firstSeq: number;
  lastSeq: number;
  txHash: string | null;
  blockNumber: number | null;
  pruned: boolean;
}

export interface EventLine extends LeafFields {
  kind: "event";
  batchId: number;
  /** The id exactly as exported (a UUID or 0x hex), for reports. */
  id: string;
  leaf: string;
  /** Sibling hashes, decoded. */
  proof: Buffer[];
}

export interface EndLine {
  kind: "end";
  batches: number;
  events: number;
}

export type TrailLine = HeaderLine | BatchLine | EventLine | EndLine;

/**
 * An event line as the verifier reads it: its proof's nodes as hex text, not decoded: checked and in lower
 * case, or, read with `proofDigitsLater`, as exported (see readLine).
 */
export interface EventRecord extends Omit<EventLine, "proof"> {
  proof: string[];
}

export type TrailRecord = HeaderLine | BatchLine | EventRecord | EndLine;

/** A line that is not valid JSON or does not follow the spec's shape. */
export class FormatError extends Error {}

const HEX16 = /^0x[0-9a-fA-F]{32}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const UINT256_MAX = (1n << 256n) - 1n;

/**
 * Parses one NDJSON line; throws FormatError naming the offending field. `exportVersion` is the header's:
 * a version 1 export's events carry no `format` or `requester` and are all format 1.
 */
export function parseLine(text: string, exportVersion = 1): TrailLine {
  const line = readLine(text, exportVersion);
  return line.kind === "event" ? { ...line, proof: line.proof.map((node) => Buffer.from(node.slice(2), "hex")) } : line;
}

/**
 * parseLine, leaving an event's proof as hex: what the verifier's loop reads (see ProofWalker). With
 * `proofDigitsLater`, a proof node is only checked to be a string of 0x and 64 more characters: whether
 * those are hex digits is then the caller's to check (proofNodeDigits), before it trusts anything of the line.
 */
export function readLine(text: string, exportVersion = 1, proofDigitsLater = false): TrailRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FormatError("not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new FormatError("not a JSON object");
  const o = value as Record<string, unknown>;
  switch (o.kind) {
    case "event":
      return parseEvent(o, exportVersion, proofDigitsLater);
    case "batch":
      return parseBatch(o);
    case "header":
      return parseHeader(o);
    case "end":
      return { kind: "end", batches: count(o, "batches"), events: count(o, "events") };
    default:
      throw new FormatError(`unknown kind ${JSON.stringify(o.kind)}`);
  }
}

function parseEvent(o: Record<string, unknown>, exportVersion: number, proofDigitsLater: boolean): EventRecord {
  const nodes = o.proof;
  if (!Array.isArray(nodes)) throw new FormatError("proof is not an array");
  // With the digits left for later, the parsed array itself is the proof (no copy).
  const proof: string[] = proofDigitsLater ? nodes : new Array<string>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node: unknown = nodes[i];
    if (proofDigitsLater && typeof node === "string" && node.length === 66 && node.charCodeAt(0) === 48 && (node.charCodeAt(1) | 32) === 120) continue;
    const lower = proofNodeDigits(node);
    if (lower === null) throw new FormatError(PROOF_NODE_ERROR);
    proof[i] = lower;
  }
  const id = o.id;
  let idHex: string;
  // The spec types id as bytes16 "the event's UUID (its 16 bytes)"; the service writes the UUID form.
  if (typeof id === "string" && isUuid(id)) idHex = ("0x" + id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24)).toLowerCase();
  else if (typeof id === "string" && HEX16.test(id)) idHex = id.toLowerCase();
  else throw new FormatError("id is neither a UUID nor 16-byte hex");
  const format = eventFormat(o, exportVersion);
  const actor = hex(o, "actor", 20);
  return {
    kind: "event",
    format,
    batchId: count(o, "batchId"),
    seq: uint64(o, "seq"),
    id,
    idHex,
    time: uint64(o, "time"),
    actor,
    requester: requesterOf(o, format, actor),
    patient: hex(o, "patient", 20),
    action: uint8(o, "action"),
    categories: uint256(o, "categories"),
    purposes: uint256(o, "purposes"),
    decision: uint8(o, "decision"),
    consentId: hex(o, "consentId", 32),
    requestHash: hex(o, "requestHash", 32),
    prevHash: hex(o, "prevHash", 32),
    leaf: hex(o, "leaf", 32),
    proof,
  };
}

function eventFormat(o: Record<string, unknown>, exportVersion: number): EventFormat {
  if (exportVersion === 1) {
    if (o.format !== undefined && o.format !== 1) throw new FormatError("a version 1 export holds format 1 events only");
    return 1;
  }
  if (o.format !== 1 && o.format !== 2) throw new FormatError("format is not 1 or 2");
  return o.format;
}

/** Format 1 leaves have no requester: a line may repeat the actor there, but claiming anyone else is unanchored. */
function requesterOf(o: Record<string, unknown>, format: EventFormat, actor: string): string {
  if (format === 2) return hex(o, "requester", 20);
  if (o.requester === undefined) return actor;
  if (hex(o, "requester", 20) !== actor) throw new FormatError("a format 1 event's requester must repeat its actor");
  return actor;
}

export const PROOF_NODE_ERROR = "proof has a node that is not 32-byte hex";

/** A proof node, 0x (or 0X) and 64 hex digits, in lower case; null if it is not one. */
export function proofNodeDigits(node: unknown): string | null {
  return typeof node === "string" && node.charCodeAt(1) === 88 ? hexOf("0x" + node.slice(2), 32) : hexOf(node, 32);
}

/** 8-4-4-4-12 hex digits (either case), as the UUID pattern, without a regular expression per event. */
function isUuid(id: string): boolean {
  if (id.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (c >= 128 || HEX_DIGIT[c] === 0) return false;
  }
  return true;
}

function parseBatch(o: Record<string, unknown>): BatchLine {
  if (o.pruned !== undefined && typeof o.pruned !== "boolean") throw new FormatError("pruned is not a boolean");
  const txHash = o.txHash === undefined || o.txHash === null ? null : hex(o, "txHash", 32);
  const blockNumber = o.blockNumber === undefined || o.blockNumber === null ? null : count(o, "blockNumber");
  return {
    kind: "batch",
    batchId: count(o, "batchId"),
    root: hex(o, "root", 32),
    firstSeq: uint64(o, "firstSeq"),
    lastSeq: uint64(o, "lastSeq"),
    txHash,
    blockNumber,
    pruned: o.pruned === true,
  };
}

function parseHeader(o: Record<string, unknown>): HeaderLine {
  return {
    kind: "header",
    version: count(o, "version"),
    chainId: count(o, "chainId"),
    accessLedger: hex(o, "accessLedger", 20),
    consentRegistry: hex(o, "consentRegistry", 20),
    from: instant(o, "from"),
    to: instant(o, "to"),
    leafTypes: strings(o, "leafTypes"),
    leafTypesV1: o.leafTypesV1 === undefined ? null : strings(o, "leafTypesV1"),
  };
}

function strings(o: Record<string, unknown>, field: string): string[] {
  const v = o[field];
  if (!Array.isArray(v) || !v.every((t) => typeof t === "string")) throw new FormatError(`${field} is not an array of strings`);
  return v as string[];
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant with a zone, as the service writes `from` and `to`, in unix ms. */
function instant(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  const ms = typeof v === "string" && ISO_INSTANT.test(v) ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) throw new FormatError(`${field} is not an ISO 8601 instant`);
  return ms;
}

/** 1 for the characters 0-9, a-f; 2 for A-F; 0 for anything else (by char code, below 128). */
const HEX_DIGIT = new Uint8Array(128);
for (let c = 48; c <= 57; c++) HEX_DIGIT[c] = 1;
for (let c = 97; c <= 102; c++) HEX_DIGIT[c] = 1;
for (let c = 65; c <= 70; c++) HEX_DIGIT[c] = 2;

/** `v` in lower case if it is 0x followed by exactly 2 × `bytes` hex digits (either case), else null. */
function hexOf(v: unknown, bytes: number): string | null {
  if (typeof v !== "string" || v.length !== 2 + 2 * bytes || v.charCodeAt(0) !== 48 || v.charCodeAt(1) !== 120) return null;
  let kinds = 0;
  for (let i = 2; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const kind = c < 128 ? HEX_DIGIT[c] : 0;
    if (kind === 0) return null;
    kinds |= kind;
  }
  return kinds & 2 ? v.toLowerCase() : v;
}

function hex(o: Record<string, unknown>, field: string, bytes: 20 | 32): string {
  const v = hexOf(o[field], bytes);
  if (v === null) throw new FormatError(`${field} is not ${bytes === 20 ? "a 0x address" : "32-byte 0x hex"}`);
  return v;
}

/** A non-negative safe integer (JSON number). */
function count(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new FormatError(`${field} is not a non-negative integer`);
  return v;
}

/** JSON numbers are exact only up to 2^53, which every seq and millisecond time of this era fits: a safe integer is a uint64. */
const uint64 = count;

function uint8(o: Record<string, unknown>, field: string): number {
  const v = count(o, field);
  if (v > 255) throw new FormatError(`${field} exceeds uint8`);
  return v;
}

/** Masks seen so far (a trail uses few): the decimal text's value without a BigInt parse each time. */
const SMALL_DECIMALS = new Map<string, bigint>();

/** categories and purposes are decimal strings in the export, so any uint256 survives JSON. */
function uint256(o: Record<string, unknown>, field: string): bigint {
  const v = o[field];
  if (typeof v === "string") {
    const known = SMALL_DECIMALS.get(v);
    if (known !== undefined) return known;
  }
  if (typeof v !== "string" || !DECIMAL.test(v)) throw new FormatError(`${field} is not a decimal string`);
  const n = BigInt(v);
  if (n > UINT256_MAX) throw new FormatError(`${field} exceeds uint256`);
  if (v.length <= 12 && SMALL_DECIMALS.size < 4096) SMALL_DECIMALS.set(v, n);
  return n;
}
