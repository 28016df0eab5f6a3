import type { Keccak } from "./keccak";
import type { LeafFields } from "./trail-format";

const WORD = 32;
const FIELD_COUNT = 12;

/**
 * abi.encode of the twelve leaf fields (all static types, so twelve 32-byte words), written by hand into
 * one reused buffer: ethers' AbiCoder costs more than the hashing. Inputs are already validated by
 * parseLine (hex lengths, integer ranges); the test suite checks this against AbiCoder.
 */
export class LeafEncoder {
  private readonly buf = Buffer.alloc(WORD * FIELD_COUNT);

  encode(f: LeafFields): Buffer {
    const b = this.buf;
    b.fill(0);
    this.uint53(0, f.seq);
    b.write(f.idHex.slice(2), 1 * WORD, 16, "hex"); // bytesN are left-aligned
    this.uint53(2, f.time);
    b.write(f.actor.slice(2), 3 * WORD + 12, 20, "hex"); // addresses are right-aligned
    b.write(f.patient.slice(2), 4 * WORD + 12, 20, "hex");
    b[5 * WORD + 31] = f.action;
    this.uint256(6, f.categories);
    this.uint256(7, f.purposes);
    b[8 * WORD + 31] = f.decision;
    b.write(f.consentId.slice(2), 9 * WORD, 32, "hex");
    b.write(f.requestHash.slice(2), 10 * WORD, 32, "hex");
    b.write(f.prevHash.slice(2), 11 * WORD, 32, "hex");
    return b;
  }

  private uint53(word: number, n: number): void {
    // Two 32-bit halves: exact for every safe integer, without a BigInt per field.
    this.buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), word * WORD + 24);
    this.buf.writeUInt32BE(n >>> 0, word * WORD + 28);
  }

  private uint256(word: number, n: bigint): void {
    if (n === 0n) return;
    this.buf.write(n.toString(16).padStart(64, "0"), word * WORD, 32, "hex");
  }
}

/** OpenZeppelin StandardMerkleTree leaf: keccak256(bytes.concat(keccak256(abi.encode(fields)))). */
export function leafHash(keccak: Keccak, encoder: LeafEncoder, fields: LeafFields): Uint8Array {
  return keccak.hash(keccak.hash(encoder.encode(fields)));
}
