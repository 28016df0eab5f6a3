import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from "@nestjs/common";
import type { Block } from "ethers";
import { ChainService } from "../chain/chain.service";
import { metrics } from "../common/metrics";
import { AppConfig } from "../config/app-config";
import { LockService, type Lease } from "../database/advisory-lock";
import type { BlockRef } from "./registry-events";
import { ConsentProjectionRepository, type IndexerCursor } from "./consent-projection.repository";
import type { IndexerStateEntity } from "./indexer.entities";
import { parseRegistryLogs } from "./registry-log-parser";

/** Most blocks asked for in one eth_getLogs call (Besu and most providers cap ranges). */
export const INDEXER_MAX_BLOCK_RANGE = 2_000;
/** Block hashes kept for reorg detection; older blocks count as final. */
export const INDEXER_REORG_DEPTH_BLOCKS = 256;
const INDEXER_NAME = "consent-registry";
const WAIT_POLL_MS = 25;

export interface IndexerFreshness {
  fresh: boolean;
  reason?: "chain-unreachable" | "projection-stale" | "not-started";
  blockNumber: number;
  /** Hash of the last indexed block: names the projection's version, also across a reorg. */
  blockHash: string;
  /** Unix seconds of the last indexed block. */
  blockTimestamp: number;
  headNumber: number;
  lagMs: number | null;
}

/**
 * Follows ConsentRegistry events into the consent projection. One service instance indexes (the
 * holder of an advisory lock); the others read the projection and its freshness from the database.
 * On a reorg it walks back through stored block hashes to the common ancestor and rolls back.
 */
@Injectable()
export class ConsentIndexer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConsentIndexer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lease: Lease | null = null;
  private stopped = false;
  /**
   * The indexer state as this instance last wrote it, while it leads: every request asks for freshness,
   * and only the leader writes the state, so it need not read back what it wrote. Re-read right after
   * each write, so it never trails the consents it describes by more than that one read.
   */
  private written?: IndexerStateEntity;

  constructor(
    private readonly config: AppConfig,
    private readonly chain: ChainService,
    private readonly projection: ConsentProjectionRepository,
    private readonly locks: LockService,
  ) {}

  /** Catches up before the service starts answering, so it is ready (and fresh) when it listens. */
  async onApplicationBootstrap(): Promise<void> {
    await this.poll().catch(() => undefined);
    this.schedule(this.config.INDEXER_POLL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.lease?.release().catch(() => undefined);
  }

  /** Runs one poll now (or joins the one in progress). */
  poll(): Promise<void> {
    this.running ??= this.pollOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Waits until the projection includes block `blockNumber`. */
  async waitForBlock(blockNumber: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.poll().catch(() => undefined);
      const state = await this.projection.state(INDEXER_NAME);
      if (state && state.blockNumber >= blockNumber) return true;
      await sleep(WAIT_POLL_MS);
    }
    return false;
  }

  /** Whether decisions may rely on the projection now (fail closed when stale or cut off). */
  async freshness(): Promise<IndexerFreshness> {
    const state = this.lease?.held && this.written ? this.written : await this.projection.state(INDEXER_NAME);
    if (!state) return { fresh: false, reason: "not-started", blockNumber: 0, blockHash: "", blockTimestamp: 0, headNumber: 0, lagMs: null };
    const lagMs = state.caughtUpAt ? Date.now() - state.caughtUpAt.getTime() : null;
    const base = { blockNumber: state.blockNumber, blockHash: state.blockHash, blockTimestamp: state.blockTimestamp, headNumber: state.headNumber, lagMs };
    if (state.lastError) return { ...base, fresh: false, reason: "chain-unreachable" };
    if (lagMs === null || lagMs > this.config.CONSENT_MAX_STALENESS_MS) return { ...base, fresh: false, reason: "projection-stale" };
    return { ...base, fresh: true };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.poll()
        .catch(() => undefined)
        .finally(() => this.schedule(this.config.INDEXER_POLL_MS));
    }, delayMs);
  }

  private async pollOnce(): Promise<void> {
    if (!(await this.holdLeadership())) return;
    const state = await this.projection.state(INDEXER_NAME);
    let cursor: IndexerCursor = state ?? (await this.startCursor());
    try {
      const head = await this.chain.head();
      cursor = await this.checkReorg(cursor, head.number);
      while (cursor.blockNumber < head.number) {
        if (this.stopped) return;
        cursor = await this.indexRange(cursor, Math.min(head.number, cursor.blockNumber + INDEXER_MAX_BLOCK_RANGE), head.number);
      }
      await this.projection.touch(INDEXER_NAME, cursor, { number: head.number, caughtUp: true });
      await this.rememberState();
      if (head.number % 64 === 0) await this.projection.pruneBlocksBelow(head.number - INDEXER_REORG_DEPTH_BLOCKS);
    } catch (error) {
      metrics.indexerPollFailed();
      const message = (error as Error).message.split("\n")[0].slice(0, 300);
      this.logger.warn({ message: "Consent indexer poll failed", error: message, block: cursor.blockNumber });
      await this.projection
        .touch(INDEXER_NAME, cursor, { number: state?.headNumber ?? cursor.blockNumber, caughtUp: false }, message)
        .catch(() => undefined);
      await this.rememberState().catch(() => (this.written = undefined));
      throw error;
    }
  }

  private async rememberState(): Promise<void> {
    this.written = (await this.projection.state(INDEXER_NAME)) ?? undefined;
  }

  private async holdLeadership(): Promise<boolean> {
    if (this.lease) return true;
    this.lease = await this.locks.tryAcquire(`indexer:${this.chain.deployment.contracts.ConsentRegistry.address.toLowerCase()}`);
    if (this.lease) {
      this.logger.log({ message: "Consent indexer leadership acquired" });
      void this.lease.lost.then(() => {
        this.logger.warn({ message: "Consent indexer leadership lost" });
        this.lease = null;
        this.written = undefined;
      });
    }
    return this.lease !== null;
  }

  private async startCursor(): Promise<IndexerCursor> {
    const number = Math.max(0, this.chain.deployment.deploymentBlock - 1);
    const block = await this.block(number);
    return { blockNumber: number, blockHash: block.hash!, blockTimestamp: block.timestamp };
  }

  /** If the block under the cursor is no longer on the chain, rolls back to the common ancestor. */
  private async checkReorg(cursor: IndexerCursor, headNumber: number): Promise<IndexerCursor> {
    const onChain = cursor.blockNumber <= headNumber ? await this.chain.provider.getBlock(cursor.blockNumber) : null;
    if (onChain?.hash === cursor.blockHash) return cursor;
    const floor = Math.max(0, this.chain.deployment.deploymentBlock - 1);
    let ancestor: IndexerCursor | undefined;
    for (const stored of await this.projection.blocksAbove(floor - 1)) {
      if (stored.number > headNumber) continue;
      const block = await this.chain.provider.getBlock(stored.number);
      if (block?.hash === stored.hash) {
        ancestor = { blockNumber: stored.number, blockHash: stored.hash, blockTimestamp: block.timestamp };
        break;
      }
    }
    ancestor ??= await this.startCursor();
    this.logger.warn({ message: "Chain reorganisation: rolling the consent projection back", from: cursor.blockNumber, to: ancestor.blockNumber });
    await this.projection.rollbackTo(INDEXER_NAME, ancestor);
    await this.rememberState();
    return ancestor;
  }

  private async indexRange(cursor: IndexerCursor, to: number, headNumber: number): Promise<IndexerCursor> {
    const from = cursor.blockNumber + 1;
    const registry = this.chain.registry;
    const logs = await this.chain.provider.getLogs({ address: await registry.getAddress(), fromBlock: from, toBlock: to });
    const numbers = [...new Set([from, ...logs.map((l) => l.blockNumber), to])];
    const blocks = await Promise.all(numbers.map((n) => this.block(n)));
    const byNumber = new Map(blocks.map((b) => [b.number, b]));
    // Logs and headers must come from one version of the chain; otherwise a reorg raced us: retry later.
    const endBlock = byNumber.get(to)!;
    if (logs.some((l) => byNumber.get(l.blockNumber)!.hash !== l.blockHash)) {
      throw new Error(`Chain changed while indexing blocks ${from}–${to}`);
    }
    // The range must extend the indexed chain; otherwise it reorganised under us: the next poll walks back.
    if (byNumber.get(from)!.parentHash !== cursor.blockHash) {
      throw new Error(`Block ${from} does not follow the indexed block ${cursor.blockNumber}`);
    }
    const events = parseRegistryLogs(registry.interface, logs, new Map(blocks.map((b) => [b.number, b.timestamp])));
    const refs: BlockRef[] = blocks.map((b) => ({ number: b.number, hash: b.hash!, parentHash: b.parentHash }));
    const next = { blockNumber: to, blockHash: endBlock.hash!, blockTimestamp: endBlock.timestamp };
    await this.projection.apply(INDEXER_NAME, events, refs, next, { number: headNumber, caughtUp: to === headNumber });
    await this.rememberState();
    return next;
  }

  private async block(number: number): Promise<Block> {
    const block = await this.chain.provider.getBlock(number);
    if (!block?.hash) throw new Error(`Block ${number} is not available`);
    return block;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
