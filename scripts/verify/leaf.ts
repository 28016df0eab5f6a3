import type { Keccak } from "./keccak";
import type { LeafFields } from "./trail-format";

const WORD = 32;

/**
 * abi.encode of an event's leaf fields (all static types, so one 32-byte word each: twelve in format 1,
 * thirteen in format 2, where `requester` follows `actor`), written by hand into reused buffers: ethers'
 * AbiCoder costs more than the hashing. Inputs are already validated by parseLine (hex lengths, integer
 * ranges); the test suite checks this against AbiCoder and StandardMerkleTree for both formats.
 */
export class LeafEncoder {
  private readonly v1 = Buffer.alloc(WORD * 12);
  private readonly v2 = Buffer.alloc(WORD * 13);

  encode(f: LeafFields): Buffer {
    const b = f.format === 1 ? this.v1 : this.v2;
    // Every field after `actor` sits one word later in format 2.
    const shift = f.format === 1 ? 0 : 1;
    b.fill(0);
    uint53(b, 0, f.seq);
    b.write(f.idHex.slice(2), 1 * WORD, 16, "hex"); // bytesN are left-aligned
    uint53(b, 2, f.time);
    b.write(f.actor.slice(2), 3 * WORD + 12, 20, "hex"); // addresses are right-aligned
    if (shift) b.write(f.requester.slice(2), 4 * WORD + 12, 20, "hex");
    b.write(f.patient.slice(2), (4 + shift) * WORD + 12, 20, "hex");
    b[(5 + shift) * WORD + 31] = f.action;
    uint256(b, 6 + shift, f.categories);
    uint256(b, 7 + shift, f.purposes);
    b[(8 + shift) * WORD + 31] = f.decision;
    b.write(f.consentId.slice(2), (9 + shift) * WORD, 32, "hex");
    b.write(f.requestHash.slice(2), (10 + shift) * WORD, 32, "hex");
    b.write(f.prevHash.slice(2), (11 + shift) * WORD, 32, "hex");
    return b;
  }
}

function uint53(b: Buffer, word: number, n: number): void {
  // Two 32-bit halves: exact for every safe integer, without a BigInt per field.
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), word * WORD + 24);
  b.writeUInt32BE(n >>> 0, word * WORD + 28);
}

function uint256(b: Buffer, word: number, n: bigint): void {
  if (n === 0n) return;
  b.write(n.toString(16).padStart(64, "0"), word * WORD, 32, "hex");
}

/** OpenZeppelin StandardMerkleTree leaf: keccak256(bytes.concat(keccak256(abi.encode(fields)))). */
export function leafHash(keccak: Keccak, encoder: LeafEncoder, fields: LeafFields): Uint8Array {
  return keccak.hash(keccak.hash(encoder.encode(fields)));
}
