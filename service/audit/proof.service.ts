import { Inject, Injectable } from "@nestjs/common";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { conflict, notFound } from "../common/problem";
import { leafTypesOf, leafValues } from "./access-event";
import { AccessEventRepository } from "./access-event.repository";
import type { BatchViewDto, EventProofDto } from "./audit.dto";
import type { AccessEventEntity, AnchorBatchEntity } from "./audit.entities";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import { StandardTree } from "./merkle";
import { trailIntegrityProblem } from "./trail-integrity";
import { toBatchView } from "./trail.mapper";

/** Trees kept in memory: proofs are usually asked for recent batches, one after another. */
const TREE_CACHE_BATCHES = 32;

@Injectable()
export class ProofService {
  private readonly trees = new Map<number, StandardTree>();

  constructor(
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly events: AccessEventRepository,
    private readonly batches: AnchorBatchRepository,
  ) {}

  batchView(batch: AnchorBatchEntity): BatchViewDto {
    return toBatchView(batch, this.deployment.chainId, this.deployment.contracts.AccessLedger.address);
  }

  async batch(batchId: number): Promise<AnchorBatchEntity> {
    const batch = await this.batches.find(batchId);
    if (!batch) throw notFound("batch-not-found", `No batch ${batchId}`);
    return batch;
  }

  /** The inclusion proof of an anchored event, checkable with StandardMerkleTree or MerkleProof.verify. */
  async proof(event: AccessEventEntity): Promise<EventProofDto> {
    if (event.batchId === null) throw conflict("not-yet-anchored", "Not anchored yet", "The event is not in a batch yet; try again shortly");
    const batch = await this.batch(event.batchId);
    if (batch.state !== "confirmed") throw conflict("not-yet-anchored", "Not anchored yet", "The event's batch is not confirmed on chain yet");
    const tree = await this.treeOf(batch);
    // The batch's stored events must still build its stored root; otherwise the path would prove nothing.
    if ("0x" + tree.root.toString("hex") !== batch.root) throw trailIntegrityProblem(batch.firstSeq);
    const leaf = Buffer.from(event.leaf.slice(2), "hex");
    return {
      eventId: event.id,
      seq: event.seq,
      leafEncoding: [...leafTypesOf(event.format)],
      leafValues: leafValues(event).map((v) => (typeof v === "bigint" ? v.toString() : v)),
      leaf: event.leaf,
      proof: tree.proof(leaf).map((node) => "0x" + node.toString("hex")),
      batch: this.batchView(batch),
    };
  }

  /** The tree of a batch, rebuilt from its stored leaves (and cached). */
  async treeOf(batch: AnchorBatchEntity): Promise<StandardTree> {
    let tree = this.trees.get(batch.batchId);
    if (!tree) {
      const leaves = await this.events.leavesOfBatch(batch.batchId);
      tree = new StandardTree(leaves.map((l) => Buffer.from(l.slice(2), "hex")));
      if (this.trees.size >= TREE_CACHE_BATCHES) this.trees.delete(this.trees.keys().next().value!);
      this.trees.set(batch.batchId, tree);
    }
    return tree;
  }
}
