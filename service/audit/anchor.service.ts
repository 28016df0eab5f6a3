import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from "@nestjs/common";
import type { Contract } from "ethers";
import { ChainService } from "../chain/chain.service";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { TransactionService } from "../chain/transactions/transaction.service";
import { AppConfig } from "../config/app-config";
import { LockService, type Lease } from "../database/advisory-lock";
import { AccessDecision } from "../domain/access-codes";
import { AccessEventRepository } from "./access-event.repository";
import { AccessLogService } from "./access-log.service";
import type { AccessEventEntity, AnchorBatchEntity } from "./audit.entities";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import { StandardTree } from "./merkle";
import { TrailMonitor } from "./trail-monitor.service";
import { metrics } from "../common/metrics";
import { redact } from "../common/redact";

/** Blocks asked for per log query when looking for an old batch's anchoring (nodes cap ranges; Besu at a few thousand). */
const LOG_SEARCH_WINDOW_BLOCKS = 2_000;

/** How long one anchoring transaction may take before the tick gives up and retries later. */
export const ANCHOR_TX_TIMEOUT_MS = 60_000;

/** The chain holds a different root for a batch id than we built: never overwrite, stop and alert. */
export class AnchorConflictError extends Error {
  override name = "AnchorConflictError";
}

/**
 * Closes batches of access events and anchors their Merkle roots, in order, exactly once each.
 * One instance anchors (advisory lock). Every step is persisted before the next, and the chain is
 * asked before anything is sent, so a crash at any point resumes without a gap or a duplicate.
 */
@Injectable()
export class AnchorService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AnchorService.name);
  private readonly ledger: Contract;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lease: Lease | null = null;
  private stopped = false;
  private urgent = false;
  private waitingSince?: { seq: number; at: number };

  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    chain: ChainService,
    private readonly events: AccessEventRepository,
    private readonly batches: AnchorBatchRepository,
    private readonly transactions: TransactionService,
    private readonly locks: LockService,
    private readonly monitor: TrailMonitor,
    accessLog: AccessLogService,
  ) {
    this.ledger = chain.ledger;
    accessLog.committed.on("committed", (rows: AccessEventEntity[]) => this.onCommitted(rows));
  }

  onApplicationBootstrap(): void {
    if (!this.config.ANCHORER_PRIVATE_KEY) {
      this.logger.warn({ message: "No ANCHORER_PRIVATE_KEY: this instance records access events but does not anchor them" });
      return;
    }
    this.schedule(0);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.lease?.release().catch(() => undefined);
  }

  /** Runs one anchoring pass now, or joins the one in progress. */
  tick(): Promise<void> {
    // Without a key this instance must not take the anchorer's lease, or it would hold it and anchor nothing.
    if (!this.config.ANCHORER_PRIVATE_KEY) return Promise.resolve();
    this.running ??= this.anchorPending().finally(() => (this.running = undefined));
    return this.running;
  }

  private onCommitted(rows: AccessEventEntity[]): void {
    // Break-glass events are anchored at once, in a batch of their own.
    if (rows.some((r) => r.decision === AccessDecision.BreakGlass)) {
      this.urgent = true;
      void this.tick().catch(() => undefined);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .catch((error) => this.logger.warn({ message: "Anchoring pass failed; will retry", error: redact((error as Error).message) }))
        .finally(() => this.schedule(this.config.BATCH_MAX_MS));
    }, delayMs);
  }

  private async anchorPending(): Promise<void> {
    if (!(await this.holdLeadership())) return;
    for (const batch of await this.batches.unconfirmed()) {
      if (this.stopped) return;
      await this.anchor(batch);
    }
    for (;;) {
      if (this.stopped) return;
      const batch = await this.closeBatch();
      if (!batch) return;
      await this.anchor(batch);
    }
  }

  /**
   * Builds the next batch from the events after the last batch: up to BATCH_MAX_EVENTS, ending right
   * before a break-glass event, which goes alone. Returns null when there is nothing to close yet.
   */
  private async closeBatch(): Promise<AnchorBatchEntity | null> {
    // Only what the trail's own check vouches for is anchored: a forged or edited event must not be laundered onto the chain.
    const verifiedThrough = await this.monitor.checkNew();
    if (verifiedThrough === null) return null;
    const last = await this.batches.last();
    const firstSeq = (last?.lastSeq ?? 0) + 1;
    const pending = (await this.events.eventsFrom(firstSeq, this.config.BATCH_MAX_EVENTS)).filter((e) => e.seq <= verifiedThrough);
    if (pending.length === 0) return null;
    // Aged by when this instance first saw the event waiting, not by its access time, which may run ahead
    // of this clock when block times do.
    if (this.waitingSince?.seq !== pending[0].seq) this.waitingSince = { seq: pending[0].seq, at: Date.now() };
    const oldestAgeMs = Date.now() - this.waitingSince.at;
    const full = pending.length >= this.config.BATCH_MAX_EVENTS;
    const hasBreakGlass = pending.some((e) => e.decision === AccessDecision.BreakGlass);
    if (!full && !hasBreakGlass && oldestAgeMs < this.config.BATCH_MAX_MS && !this.urgent) return null;
    this.urgent = false;

    let members = pending;
    const breakGlassAt = pending.findIndex((e) => e.decision === AccessDecision.BreakGlass);
    if (breakGlassAt === 0) members = pending.slice(0, 1);
    else if (breakGlassAt > 0) members = pending.slice(0, breakGlassAt);

    const tree = new StandardTree(members.map((e) => Buffer.from(e.leaf.slice(2), "hex")));
    const batch = await this.batches.create({
      batchId: (last?.batchId ?? 0) + 1,
      firstSeq: members[0].seq,
      lastSeq: members[members.length - 1].seq,
      root: "0x" + tree.root.toString("hex"),
      breakGlass: breakGlassAt === 0,
    });
    metrics.anchorBatchBuilt(batch.batchId, members);
    return batch;
  }

  /** Gets `batch` onto the chain exactly once: adopt what the chain already has, else (re)use the one transaction. */
  private async anchor(batch: AnchorBatchEntity): Promise<void> {
    const onChainCount = Number(await this.ledger.batchCount());
    if (onChainCount >= batch.batchId) return this.adopt(batch);
    const signer = this.transactions.forSigner("anchorer");
    const ref = String(batch.batchId);
    let tracked = await signer.findByRef("ledger.anchor", ref);
    if (!tracked || tracked.state === "failed") {
      const data = this.ledger.interface.encodeFunctionData("anchor", [batch.batchId, batch.root, batch.firstSeq, batch.lastSeq]);
      tracked = await signer.submit({ to: this.deployment.contracts.AccessLedger.address, data, kind: "ledger.anchor", ref });
    }
    await this.batches.markSubmitted(batch.batchId, String(tracked.id), tracked.hash ?? null);
    const mined = await tracked.wait({ timeoutMs: ANCHOR_TX_TIMEOUT_MS });
    await this.batches.markConfirmed(batch.batchId, mined.hash, mined.blockNumber);
    metrics.anchorBatchConfirmed(batch.batchId);
    this.logger.log({ message: "Batch anchored", batchId: batch.batchId, events: batch.lastSeq - batch.firstSeq + 1, block: mined.blockNumber });
  }

  /**
   * The chain has a batch under this id already (a crash after sending, or another instance): confirm ours
   * only if the chain holds exactly our root for exactly our range — AccessLedger v2 stores the root under
   * (id, range), so asking with our range answers both — and take its block from the anchoring log.
   */
  private async adopt(batch: AnchorBatchEntity): Promise<void> {
    let stored: { root: string; status: bigint | number };
    try {
      stored = await this.ledger.getBatch(batch.batchId, batch.firstSeq, batch.lastSeq);
    } catch (error) {
      if ((error as { revert?: { name?: string } }).revert?.name === "BatchRangeMismatch") {
        throw new AnchorConflictError(`Batch ${batch.batchId} on chain covers another range than the database's`);
      }
      throw error;
    }
    if (stored.root.toLowerCase() !== batch.root.toLowerCase() || Number(stored.status) !== 0) {
      throw new AnchorConflictError(`Batch ${batch.batchId} on chain differs from the database's (root or status)`);
    }
    const log = await this.anchoredLog(batch);
    if (!log) throw new Error(`Batch ${batch.batchId} is on chain but its BatchAnchored log was not found yet`);
    await this.batches.markConfirmed(batch.batchId, log.transactionHash, log.blockNumber);
    metrics.anchorBatchConfirmed(batch.batchId);
  }

  /**
   * Where batch `batch` was anchored, from its log. Looked for where it must be — the receipt of our own
   * transaction, or the ledger's last anchoring block for the latest batch — and only then in bounded
   * windows back from the head: an open-ended log range breaks on nodes that cap it.
   */
  private async anchoredLog(batch: AnchorBatchEntity): Promise<{ transactionHash: string; blockNumber: number } | null> {
    const filter = this.ledger.filters.BatchAnchored(batch.batchId);
    const inBlocks = async (from: number, to: number) => (await this.ledger.queryFilter(filter, from, to))[0] ?? null;
    const tracked = batch.txHash ? await this.ledger.runner?.provider?.getTransactionReceipt(batch.txHash) : null;
    if (tracked?.status === 1) {
      const log = await inBlocks(tracked.blockNumber, tracked.blockNumber);
      if (log) return log;
    }
    const head = await this.ledger.head();
    if (Number(head.batchCount) === batch.batchId) {
      const log = await inBlocks(Number(head.lastAnchorBlock), Number(head.lastAnchorBlock));
      if (log) return log;
    }
    const latest = await this.ledger.runner!.provider!.getBlockNumber();
    for (let to = latest; to >= this.deployment.deploymentBlock; to -= LOG_SEARCH_WINDOW_BLOCKS) {
      const log = await inBlocks(Math.max(this.deployment.deploymentBlock, to - LOG_SEARCH_WINDOW_BLOCKS + 1), to);
      if (log) return log;
    }
    return null;
  }

  private async holdLeadership(): Promise<boolean> {
    if (this.lease?.held) return true;
    this.lease = await this.locks.tryAcquire(`anchorer:${this.deployment.contracts.AccessLedger.address.toLowerCase()}`);
    // Which instance anchors: operators (and the failover test) read it from here.
    if (this.lease) this.logger.log({ message: "Anchorer leadership acquired" });
    return this.lease !== null;
  }
}
