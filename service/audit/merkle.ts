import { hashPair } from "./keccak";

/**
 * A Merkle tree in exactly the shape of OpenZeppelin's StandardMerkleTree (leaves sorted by hash, laid out
 * as a complete binary tree in an array, sorted-pair node hashing), so its root and proofs are the ones
 * that library and MerkleProof.verify accept — built with a fast keccak instead of the library's.
 */
export class StandardTree {
  private readonly nodes: Buffer[];
  private readonly positionOf = new Map<string, number>();

  constructor(leaves: readonly Buffer[]) {
    if (leaves.length === 0) throw new RangeError("A Merkle tree needs at least one leaf");
    const sorted = [...leaves].sort(Buffer.compare);
    const size = 2 * sorted.length - 1;
    this.nodes = new Array<Buffer>(size);
    sorted.forEach((leaf, i) => {
      this.nodes[size - 1 - i] = leaf;
      this.positionOf.set(leaf.toString("hex"), size - 1 - i);
    });
    for (let i = size - 1 - sorted.length; i >= 0; i--) {
      this.nodes[i] = hashPair(this.nodes[2 * i + 1], this.nodes[2 * i + 2]);
    }
  }

  get root(): Buffer {
    return this.nodes[0];
  }

  /** The sibling path from `leaf` to the root. */
  proof(leaf: Buffer): Buffer[] {
    let index = this.positionOf.get(leaf.toString("hex"));
    if (index === undefined) throw new RangeError("Leaf is not in the tree");
    const path: Buffer[] = [];
    while (index > 0) {
      path.push(this.nodes[index % 2 === 1 ? index + 1 : index - 1]);
      index = Math.floor((index - 1) / 2);
    }
    return path;
  }
}
