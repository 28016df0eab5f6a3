import type { Keccak } from "./keccak";

/** OpenZeppelin's standard node hash: keccak256 of the two children in ascending byte order. */
export function nodeHash(keccak: Keccak, a: Uint8Array, b: Uint8Array): Uint8Array {
  return Buffer.compare(a, b) <= 0 ? keccak.hash(a, b) : keccak.hash(b, a);
}

/** The root a proof leads to (MerkleProof.processProof); sorted pairs need no left/right flags. */
export function processProof(keccak: Keccak, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let node = leaf;
  for (const sibling of proof) node = nodeHash(keccak, node, sibling);
  return node;
}

export function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.slice(2), "hex");
}

export function bytesHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
