import { createKeccak, type IHasher } from "hash-wasm";

/**
 * Synchronous keccak256 over hash-wasm, created once. hash-wasm is about 20× faster than ethers'
 * keccak256 (docs/architecture.md §11) and hashing dominates the verifier: two hashes per leaf plus one per proof node.
 */
export class Keccak {
  private constructor(private readonly hasher: IHasher) {}

  static async create(): Promise<Keccak> {
    return new Keccak(await createKeccak(256));
  }

  /** keccak256 of the concatenation of `parts`. */
  hash(...parts: Uint8Array[]): Uint8Array {
    const h = this.hasher.init();
    for (const part of parts) h.update(part);
    return h.digest("binary");
  }
}
