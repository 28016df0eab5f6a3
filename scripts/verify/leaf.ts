import type { Keccak } from "./keccak";
import type { LeafFields } from "./trail-format";

const WORD = 32;
/** Bytes of a leaf's abi.encode: twelve words in format 1, thirteen in format 2. */
export const encodedLength = (format: 1 | 2): number => WORD * (format === 1 ? 12 : 13);

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
    this.encodeInto(f, b, 0);
    return b;
  }

  /** Writes the encoding at `offset` of `b` (encodedLength(f.format) bytes); returns its length. */
  encodeInto(f: LeafFields, b: Buffer, offset: number): number {
    const length = encodedLength(f.format);
    // Every field after `actor` sits one word later in format 2.
    const shift = f.format === 1 ? 0 : 1;
    b.fill(0, offset, offset + length);
    uint53(b, offset, f.seq);
    b.write(f.idHex.slice(2), offset + 1 * WORD, 16, "hex"); // bytesN are left-aligned
    uint53(b, offset + 2 * WORD, f.time);
    b.write(f.actor.slice(2), offset + 3 * WORD + 12, 20, "hex"); // addresses are right-aligned
    if (shift) b.write(f.requester.slice(2), offset + 4 * WORD + 12, 20, "hex");
    b.write(f.patient.slice(2), offset + (4 + shift) * WORD + 12, 20, "hex");
    b[offset + (5 + shift) * WORD + 31] = f.action;
    uint256(b, offset + (6 + shift) * WORD, f.categories);
    uint256(b, offset + (7 + shift) * WORD, f.purposes);
    b[offset + (8 + shift) * WORD + 31] = f.decision;
    b.write(f.consentId.slice(2), offset + (9 + shift) * WORD, 32, "hex");
    b.write(f.requestHash.slice(2), offset + (10 + shift) * WORD, 32, "hex");
    b.write(f.prevHash.slice(2), offset + (11 + shift) * WORD, 32, "hex");
    return length;
  }
}

/** A safe integer as a big-endian uint256 word at `at` (already zeroed). */
function uint53(b: Buffer, at: number, n: number): void {
  // Two 32-bit halves: exact for every safe integer, without a BigInt per field.
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at + 24);
  b.writeUInt32BE(n >>> 0, at + 28);
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A uint256 as a big-endian word at `at` (already zeroed). */
function uint256(b: Buffer, at: number, n: bigint): void {
  if (n === 0n) return;
  // Category and purpose masks are small: no hex string for them.
  if (n <= SAFE) return uint53(b, at, Number(n));
  b.write(n.toString(16).padStart(64, "0"), at, 32, "hex");
}

/** OpenZeppelin StandardMerkleTree leaf: keccak256(bytes.concat(keccak256(abi.encode(fields)))). */
export function leafHash(keccak: Keccak, encoder: LeafEncoder, fields: LeafFields): Uint8Array {
  digestLeaf(keccak, encoder, fields);
  return Uint8Array.prototype.slice.call(keccak.io, 0, 32);
}

/** The leaf of `fields`, left in keccak.io[0, 32): no allocation. */
export function digestLeaf(keccak: Keccak, encoder: LeafEncoder, fields: LeafFields): void {
  const io = keccak.io;
  keccak.digestIo(encoder.encodeInto(fields, io, 0));
  keccak.digestIo(32);
}
