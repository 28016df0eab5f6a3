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

/** A line that is not valid JSON or does not follow the spec's shape. */
export class FormatError extends Error {}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const HEX20 = /^0x[0-9a-fA-F]{40}$/;
const HEX16 = /^0x[0-9a-fA-F]{32}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT256_MAX = (1n << 256n) - 1n;

/**
 * Parses one NDJSON line; throws FormatError naming the offending field. `exportVersion` is the header's:
 * a version 1 export's events carry no `format` or `requester` and are all format 1.
 */
export function parseLine(text: string, exportVersion = 1): TrailLine {
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
      return parseEvent(o, exportVersion);
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

function parseEvent(o: Record<string, unknown>, exportVersion: number): EventLine {
  if (!Array.isArray(o.proof)) throw new FormatError("proof is not an array");
  const proof = o.proof.map(proofNode);
  const id = o.id;
  let idHex: string;
  // The spec types id as bytes16 "the event's UUID (its 16 bytes)"; the service writes the UUID form.
  if (typeof id === "string" && UUID.test(id)) idHex = "0x" + id.replace(/-/g, "").toLowerCase();
  else if (typeof id === "string" && HEX16.test(id)) idHex = id.toLowerCase();
  else throw new FormatError("id is neither a UUID nor 16-byte hex");
  const format = eventFormat(o, exportVersion);
  const actor = hex(o, "actor", HEX20);
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
    patient: hex(o, "patient", HEX20),
    action: uint8(o, "action"),
    categories: uint256(o, "categories"),
    purposes: uint256(o, "purposes"),
    decision: uint8(o, "decision"),
    consentId: hex(o, "consentId", HEX32),
    requestHash: hex(o, "requestHash", HEX32),
    prevHash: hex(o, "prevHash", HEX32),
    leaf: hex(o, "leaf", HEX32),
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
  if (format === 2) return hex(o, "requester", HEX20);
  if (o.requester === undefined) return actor;
  if (hex(o, "requester", HEX20) !== actor) throw new FormatError("a format 1 event's requester must repeat its actor");
  return actor;
}

/** Decodes a 0x-prefixed 32-byte node; Buffer.from stops at the first non-hex digit, so a short result means bad input. */
function proofNode(node: unknown): Buffer {
  if (typeof node === "string" && node.length === 66 && node.charCodeAt(0) === 48 && (node.charCodeAt(1) | 32) === 120) {
    const bytes = Buffer.from(node.slice(2), "hex");
    if (bytes.length === 32) return bytes;
  }
  throw new FormatError("proof has a node that is not 32-byte hex");
}

function parseBatch(o: Record<string, unknown>): BatchLine {
  if (o.pruned !== undefined && typeof o.pruned !== "boolean") throw new FormatError("pruned is not a boolean");
  const txHash = o.txHash === undefined || o.txHash === null ? null : hex(o, "txHash", HEX32);
  const blockNumber = o.blockNumber === undefined || o.blockNumber === null ? null : count(o, "blockNumber");
  return {
    kind: "batch",
    batchId: count(o, "batchId"),
    root: hex(o, "root", HEX32),
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
    accessLedger: hex(o, "accessLedger", HEX20),
    consentRegistry: hex(o, "consentRegistry", HEX20),
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

function hex(o: Record<string, unknown>, field: string, pattern: RegExp): string {
  const v = o[field];
  if (typeof v !== "string" || !pattern.test(v)) throw new FormatError(`${field} is not ${describe(pattern)}`);
  return v.toLowerCase();
}

function describe(pattern: RegExp): string {
  return pattern === HEX20 ? "a 0x address" : pattern === HEX16 ? "16-byte 0x hex" : "32-byte 0x hex";
}

/** A non-negative safe integer (JSON number). */
function count(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new FormatError(`${field} is not a non-negative integer`);
  return v;
}

function uint64(o: Record<string, unknown>, field: string): number {
  // JSON numbers: exact only up to 2^53, which every seq and millisecond time of this era fits.
  const v = count(o, field);
  if (BigInt(v) > UINT64_MAX) throw new FormatError(`${field} exceeds uint64`);
  return v;
}

function uint8(o: Record<string, unknown>, field: string): number {
  const v = count(o, field);
  if (v > 255) throw new FormatError(`${field} exceeds uint8`);
  return v;
}

/** categories and purposes are decimal strings in the export, so any uint256 survives JSON. */
function uint256(o: Record<string, unknown>, field: string): bigint {
  const v = o[field];
  if (typeof v !== "string" || !DECIMAL.test(v)) throw new FormatError(`${field} is not a decimal string`);
  const n = BigInt(v);
  if (n > UINT256_MAX) throw new FormatError(`${field} exceeds uint256`);
  return n;
}
