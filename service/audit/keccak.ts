import { createKeccak, type IHasher } from "hash-wasm";

let hasher: IHasher | undefined;

/** Loads the WebAssembly keccak once (≈20× ethers' keccak256); call before the sync functions below. */
export async function keccakReady(): Promise<void> {
  hasher ??= await createKeccak(256);
}

/** keccak256 of `data`, synchronously; keccakReady() must have resolved. */
export function keccak(data: Uint8Array): Buffer {
  if (!hasher) throw new Error("keccakReady() has not completed");
  hasher.init();
  hasher.update(data);
  return Buffer.from(hasher.digest("binary"));
}

/** OpenZeppelin's commutative node hash: keccak256 of the two children, smaller first. */
export function hashPair(a: Buffer, b: Buffer): Buffer {
  return Buffer.compare(a, b) <= 0 ? keccak(Buffer.concat([a, b])) : keccak(Buffer.concat([b, a]));
}
