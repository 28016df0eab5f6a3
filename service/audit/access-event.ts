import { getAddress } from "ethers";
import type { AccessAction, AccessDecision } from "../domain/access-codes";
import { keccak } from "./keccak";

/** ABI types of the leaf fields, in order (for StandardMerkleTree and MerkleProof users). */
export const LEAF_TYPES = [
  "uint64", // seq
  "bytes16", // id
  "uint64", // time (ms)
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

export const ZERO_HASH = "0x" + "00".repeat(32);
export const ZERO_ADDRESS = "0x" + "00".repeat(20);

/** The anchored fields of one access event. Hashes and addresses are 0x hex; `id` a UUID. */
export interface AccessEventFields {
  seq: number;
  id: string;
  timeMs: number;
  actor: string;
  patient: string;
  action: AccessAction;
  categories: number;
  purposes: number;
  decision: AccessDecision;
  consentId: string;
  requestHash: string;
  prevHash: string;
}

/** The values in LEAF_TYPES order, as StandardMerkleTree takes them. */
export function leafValues(e: AccessEventFields): (string | number | bigint)[] {
  return [
    e.seq,
    "0x" + e.id.replace(/-/g, ""),
    e.timeMs,
    getAddress(e.actor),
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

/** abi.encode of the fields: twelve 32-byte words, encoded by hand because this runs per event. */
export function encodeFields(e: AccessEventFields): Buffer {
  const out = Buffer.alloc(32 * 12);
  const uint = (word: number, value: number | bigint) => {
    let v = BigInt(value);
    for (let i = 31; i >= 0 && v > 0n; i--) {
      out[word * 32 + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  };
  const right = (word: number, hex: string, bytes: number) => out.write(hex.slice(2, 2 + bytes * 2), word * 32 + 32 - bytes, "hex");
  const left = (word: number, hex: string) => out.write(hex.replace(/^0x/, ""), word * 32, "hex");
  uint(0, e.seq);
  left(1, e.id.replace(/-/g, ""));
  uint(2, e.timeMs);
  right(3, e.actor, 20);
  right(4, e.patient, 20);
  uint(5, e.action);
  uint(6, e.categories);
  uint(7, e.purposes);
  uint(8, e.decision);
  left(9, e.consentId);
  left(10, e.requestHash);
  left(11, e.prevHash);
  return out;
}

/** keccak256(bytes.concat(keccak256(abi.encode(fields)))): StandardMerkleTree's leaf hash. */
export function leafHash(e: AccessEventFields): Buffer {
  return keccak(keccak(encodeFields(e)));
}
