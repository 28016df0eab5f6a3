import type { Keccak } from "./keccak";
import { proofNodeDigits } from "./trail-format";

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

export function bytesHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** A step once taken: this node with `sibling` hashes to `parent`. A fact, so never wrong once recorded. */
interface KnownParent {
  sibling: string;
  parent: string;
  /** The parent's own step, once looked up: climbing a known path then needs no map lookups. */
  up: KnownParent | undefined;
}

/**
 * MerkleProof.processProof over 0x lower-case hex nodes, for the proofs of one batch at a time.
 *
 * Every proof of a batch climbs the same tree, so most of its steps were already taken by an earlier
 * event: the top levels by all of them. Each step's result is remembered — node and sibling → parent,
 * stored under both children — and a step is taken from memory only when both its node and its sibling
 * are exactly those remembered, so the root found is the one hashing every step would find, for honest
 * and forged proofs alike. An honest batch of n events then costs n − 1 node hashes instead of about
 * n·log2(n). The memory is per batch (`reset` at each batch) and bounded: past `capacity` entries (about
 * 250 bytes each), steps are still hashed, just not remembered; since the first proofs of a batch fill in
 * its top levels, later ones still climb most of the way from memory.
 */
export class ProofWalker {
  private readonly known = new Map<string, KnownParent>();

  constructor(
    private readonly keccak: Keccak,
    private readonly capacity = 1 << 15,
  ) {}

  /** Forget the tree: a new batch begins. */
  reset(): void {
    this.known.clear();
  }

  /**
   * The root (0x lower-case hex) that `proof` leads to from `leaf` (0x lower-case hex), or null if a node of
   * `proof` is not 0x and 64 hex digits. Each node is checked where it is used: hashed, it is read digit by
   * digit; taken from memory, it equals a node that was.
   */
  rootOf(leaf: string, proof: readonly string[]): string | null {
    let node = leaf;
    let known = this.known.get(node);
    for (let i = 0; i < proof.length; i++) {
      const sibling = proof[i];
      if (known !== undefined && known.sibling === sibling) {
        node = known.parent;
        let up = known.up;
        if (up === undefined) {
          up = this.known.get(node);
          known.up = up;
        }
        known = up;
        continue;
      }
      const parent = this.hashPair(node, sibling);
      if (parent === null) return null;
      if (this.known.size < this.capacity) {
        // Stored under both children, for the proofs that come up through either; but no other proof
        // comes up through this event's own leaf.
        if (i > 0) this.known.set(node, { sibling, parent, up: undefined });
        this.known.set(sibling, { sibling: node, parent, up: undefined });
      }
      node = parent;
      known = this.known.get(node);
    }
    return node;
  }

  /** keccak256 of `node` (valid, lower case) and `sibling` in ascending byte order; null if `sibling` is not a node. */
  private hashPair(a: string, sibling: string): string | null {
    // Lower-case hex of equal length sorts as its bytes.
    const b = proofNodeDigits(sibling);
    if (b === null) return null;
    const io = this.keccak.io;
    const aFirst = a <= b;
    io.write((aFirst ? a : b).slice(2), 0, 32, "hex");
    io.write((aFirst ? b : a).slice(2), 32, 32, "hex");
    this.keccak.digestIo(64);
    return "0x" + io.toString("hex", 0, 32);
  }
}
