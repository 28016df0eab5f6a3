import { getAddress } from "ethers";
import type { AccessAction, AccessDecision } from "../domain/access-codes";
import { keccak } from "./keccak";

/** Trail formats (docs/access-trail.md): an event keeps the format it was written in, since its leaf is anchored. */
export type TrailFormat = 1 | 2;

/** The format new events are written in. */
export const CURRENT_FORMAT: TrailFormat = 2;

/** ABI types of format 2's leaf fields, in order (for StandardMerkleTree and MerkleProof users). */
export const LEAF_TYPES = [
  "uint64", // seq
  "bytes16", // id
  "uint64", // time (ms)
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

/** Format 1's leaf types: format 2's without `requester`. */
export const LEAF_TYPES_V1 = LEAF_TYPES.filter((_, i) => i !== 4);

export const leafTypesOf = (format: TrailFormat): readonly string[] => (format === 1 ? LEAF_TYPES_V1 : LEAF_TYPES);

export const ZERO_HASH = "0x" + "00".repeat(32);
export const ZERO_ADDRESS = "0x" + "00".repeat(20);

/** The anchored fields of one access event. Hashes and addresses are 0x hex; `id` a UUID. */
export interface AccessEventFields {
  format: TrailFormat;
  seq: number;
  id: string;
  timeMs: number;
  /** The authenticated caller. */
  actor: string;
  /** Whom the decision is about: the caller for reads; another party when a custodian consults for it. */
  requester: string;
  patient: string;
  action: AccessAction;
  categories: number;
  purposes: number;
  decision: AccessDecision;
  consentId: string;
  requestHash: string;
  prevHash: string;
}

/** The values in `leafTypesOf(e.format)` order, as StandardMerkleTree takes them. */
export function leafValues(e: AccessEventFields): (string | number | bigint)[] {
  return [
    e.seq,
    "0x" + e.id.replace(/-/g, ""),
    e.timeMs,
    getAddress(e.actor),
    ...(e.format === 1 ? [] : [getAddress(e.requester)]),
    getAddress(e.patient),
    e.action,
    e.categories,
    e.purposes,
    e.decision,
    e.consentId,
    e.requestHash,
    e.prevHash,
  ];
}

/** abi.encode of the fields: 32-byte words, encoded by hand because this runs per event. */
export function encodeFields(e: AccessEventFields): Buffer {
  const words = e.format === 1 ? 12 : 13;
  const out = Buffer.alloc(32 * words);
  const uint = (word: number, value: number | bigint) => {
    let v = BigInt(value);
    for (let i = 31; i >= 0 && v > 0n; i--) {
      out[word * 32 + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  };
  const right = (word: number, hex: string, bytes: number) => out.write(hex.slice(2, 2 + bytes * 2), word * 32 + 32 - bytes, "hex");
  const left = (word: number, hex: string) => out.write(hex.replace(/^0x/, ""), word * 32, "hex");
  let w = 0;
  uint(w++, e.seq);
  left(w++, e.id.replace(/-/g, ""));
  uint(w++, e.timeMs);
  right(w++, e.actor, 20);
  if (e.format !== 1) right(w++, e.requester, 20);
  right(w++, e.patient, 20);
  uint(w++, e.action);
  uint(w++, e.categories);
  uint(w++, e.purposes);
  uint(w++, e.decision);
  left(w++, e.consentId);
  left(w++, e.requestHash);
  left(w++, e.prevHash);
  return out;
}

/** keccak256(bytes.concat(keccak256(abi.encode(fields)))): StandardMerkleTree's leaf hash. */
export function leafHash(e: AccessEventFields): Buffer {
  return keccak(keccak(encodeFields(e)));
}
