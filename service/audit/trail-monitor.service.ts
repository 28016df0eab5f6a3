import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from "@nestjs/common";
import { ChainService } from "../chain/chain.service";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { AppConfig } from "../config/app-config";
import { LockService, type Lease } from "../database/advisory-lock";
import { ServiceMetaRepository } from "../database/service-meta.repository";
import { AccessEventRepository } from "./access-event.repository";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import type { AnchorBatchEntity } from "./audit.entities";
import { StandardTree } from "./merkle";
import { checkRunYielding, GENESIS_LEAF, type TrailFailure } from "./trail-integrity";
import { redact } from "../common/redact";

/** Events read per query while checking. */
const PAGE_EVENTS = 5_000;
/** Batch headers read per query while sweeping. */
const PAGE_BATCHES = 100;
/** Anchored batches whose on-chain header is remembered (it never changes once anchored). */
const CHAIN_BATCH_CACHE = 100_000;
/** Where the instance that checks publishes its report for the others (service_meta key). */
const STATUS_KEY = "trail-monitor:status";

export interface TrailIntegrityReport {
  ok: boolean;
  /** The first (lowest) failing sequence number found, and why. */
  failure: TrailFailure | null;
  /** New events have been checked up to this seq. */
  checkedThroughSeq: number;
  /** Completed sweeps of the whole trail since start, and when the last one ended. */
  sweeps: number;
  lastSweepAt: string | null;
  /** What checking has cost: events re-verified and the time spent on them. */
  eventsChecked: number;
  busyMs: number;
  /** Whether this instance checks the trail, or reports what the instance that holds the monitor's lease found. */
  checkedBy: "this-instance" | "another-instance";
}

/**
 * The service audits its own trail, independently of the database's append-only rules (which a superuser
 * can bypass). Every TRAIL_CHECK_MS it checks the events appended since last time — leaf recomputed from
 * the columns, hash link, no gap, head in agreement — and advances a sweep of the whole trail by up to
 * TRAIL_SWEEP_EVENTS events: every batch's events, the root they build, and that root and range against
 * the chain. The first failure found is kept (the lowest seq wins), logged as an alarm without personal
 * data, and reported by /health until the service restarts and finds the trail intact.
 *
 * Several instances (or workers) share one trail, so one of them checks it — the holder of the monitor's
 * lease — and publishes its report in service_meta each round; the others report that (a failure found
 * anywhere is reported everywhere). Without the lease, every worker would re-verify every event.
 */
@Injectable()
export class TrailMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TrailMonitor.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private failure: TrailFailure | null = null;
  /** Where the check of new events stands; `leaf` null when the event before is unknown (pruned). */
  private tail: { seq: number; leaf: string | null } | null = null;
  private sweep = { afterBatchId: 0, nextSeq: 1, prevLeaf: GENESIS_LEAF as string | null };
  private sweeps = 0;
  private lastSweepAt: Date | null = null;
  private eventsChecked = 0;
  private busyMs = 0;
  /** What the chain holds for a batch id under the range asked with; a void or superseded batch is not valid. */
  private readonly chainBatches = new Map<number, { root: string; range: string; valid: boolean }>();
  private lease: Lease | null = null;
  /** The report of the instance that checks, when it is not this one. */
  private published: TrailIntegrityReport | null = null;

  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly events: AccessEventRepository,
    private readonly batches: AnchorBatchRepository,
    private readonly chain: ChainService,
    private readonly locks: LockService,
    private readonly meta: ServiceMetaRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.lease?.release().catch(() => undefined);
  }

  report(): TrailIntegrityReport {
    const own: TrailIntegrityReport = {
      ok: this.failure === null,
      failure: this.failure,
      checkedThroughSeq: this.tail?.seq ?? 0,
      sweeps: this.sweeps,
      lastSweepAt: this.lastSweepAt?.toISOString() ?? null,
      eventsChecked: this.eventsChecked,
      busyMs: Math.round(this.busyMs),
      checkedBy: "this-instance",
    };
    if (this.lease?.held || !this.published) return own;
    // A failure this instance found itself (its anchorer checks new events before every batch) still counts.
    const failure = lowest(this.failure, this.published.failure);
    return { ...this.published, ok: failure === null, failure, checkedBy: "another-instance" };
  }

  /** Runs one check now (or joins the one in progress). */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check()
        .catch((error) => this.logger.warn({ message: "Trail check failed; will retry", error: redact((error as Error).message) }))
        .finally(() => this.schedule(this.config.TRAIL_CHECK_MS));
    }, delayMs);
  }

  /**
   * Checks the events appended since the last check (joining a check in progress). The anchorer calls it
   * before closing a batch, so nothing that fails the check is ever anchored. Returns how far the trail
   * is verified, or null when it has failed.
   */
  async checkNew(): Promise<number | null> {
    this.checkingNew ??= this.checkNewEvents().finally(() => (this.checkingNew = undefined));
    await this.checkingNew;
    return this.failure ? null : (this.tail?.seq ?? 0);
  }

  private checkingNew?: Promise<void>;

  private async checkOnce(): Promise<void> {
    if (!(await this.holdLease())) return this.follow();
    const started = performance.now();
    try {
      await this.checkNew();
      await this.sweepStep(this.config.TRAIL_SWEEP_EVENTS);
    } finally {
      this.busyMs += performance.now() - started;
      await this.meta.set(STATUS_KEY, JSON.stringify(this.report())).catch(() => undefined);
    }
  }

  /** Whether this instance is the one that checks (taking the lease when nobody holds it). */
  private async holdLease(): Promise<boolean> {
    if (this.lease?.held) return true;
    this.lease = await this.locks.tryAcquire(`trail-monitor:${this.deployment.contracts.AccessLedger.address.toLowerCase()}`);
    if (this.lease) {
      // A failure the previous holder found stays reported: this instance's first sweep has not reached it yet,
      // and a failure is kept until a restart finds the trail intact.
      this.failure = lowest(this.failure, this.published?.failure ?? null);
      this.logger.log({ message: "Trail monitor lease acquired" });
    }
    return this.lease !== null;
  }

  /** Another instance checks: take over its report. */
  private async follow(): Promise<void> {
    const stored = await this.meta.get(STATUS_KEY);
    if (stored) this.published = JSON.parse(stored) as TrailIntegrityReport;
  }

  /** Events appended since the last check, and the head against the last event. */
  private async checkNewEvents(): Promise<void> {
    this.tail ??= await this.startOfNewEvents();
    const head = await this.events.headState();
    if (head.maxSeq < this.tail.seq) return this.raise({ seq: head.maxSeq + 1, reason: "event-missing" });
    for (;;) {
      const page = await this.events.eventsFrom(this.tail.seq + 1, PAGE_EVENTS);
      if (page.length === 0) break;
      this.eventsChecked += page.length;
      const result = await checkRunYielding(page, this.tail.seq + 1, this.tail.leaf);
      if ("failure" in result) return this.raise(result.failure);
      this.tail = { seq: result.lastSeq, leaf: result.lastLeaf };
      if (page.length < PAGE_EVENTS) break;
    }
    if (head.lastSeq !== head.maxSeq || (head.maxSeq > 0 && head.lastLeaf !== head.maxLeaf)) {
      this.raise({ seq: Math.max(head.lastSeq, head.maxSeq), reason: "head-mismatch" });
    }
  }

  /** New events are those after the last batch; older ones are the sweep's. */
  private async startOfNewEvents(): Promise<{ seq: number; leaf: string | null }> {
    const last = await this.batches.last();
    if (!last) return { seq: 0, leaf: GENESIS_LEAF };
    if (last.eventsPrunedAt) return { seq: last.lastSeq, leaf: null };
    const [event] = await this.events.eventsInRange(last.lastSeq, last.lastSeq);
    return { seq: last.lastSeq, leaf: event?.leaf ?? null };
  }

  /** Re-verifies up to `budget` events of the whole trail, batch by batch, wrapping around at its end. */
  private async sweepStep(budget: number): Promise<void> {
    while (budget > 0 && !this.stopped) {
      const page = await this.batches.after(this.sweep.afterBatchId, PAGE_BATCHES);
      for (const batch of page) {
        budget -= Math.max(1, await this.sweepBatch(batch));
        if (budget <= 0) return;
      }
      if (page.length < PAGE_BATCHES) {
        await this.sweepUnbatched();
        this.sweep = { afterBatchId: 0, nextSeq: 1, prevLeaf: GENESIS_LEAF };
        this.sweeps++;
        this.lastSweepAt = new Date();
        return;
      }
    }
  }

  /** One batch: its events complete, intact and linked, building its root, which the chain holds. Returns events checked. */
  private async sweepBatch(batch: AnchorBatchEntity): Promise<number> {
    const { nextSeq: from, prevLeaf } = this.sweep;
    this.sweep = { afterBatchId: batch.batchId, nextSeq: batch.lastSeq + 1, prevLeaf: null };
    await this.checkAgainstChain(batch);
    if (batch.firstSeq !== from) this.raise({ seq: Math.min(from, batch.firstSeq), reason: "chain-root-mismatch", batchId: batch.batchId });
    if (batch.eventsPrunedAt) return 0;
    const events = await this.events.eventsInRange(batch.firstSeq, batch.lastSeq);
    this.eventsChecked += events.length;
    const result = await checkRunYielding(events, batch.firstSeq, batch.firstSeq === from ? prevLeaf : null);
    if ("failure" in result) {
      this.raise({ ...result.failure, batchId: batch.batchId });
      return events.length;
    }
    if (result.lastSeq !== batch.lastSeq) {
      this.raise({ seq: result.lastSeq + 1, reason: "event-missing", batchId: batch.batchId });
      return events.length;
    }
    const root = "0x" + new StandardTree(events.map((e) => Buffer.from(e.leaf.slice(2), "hex"))).root.toString("hex");
    if (root !== batch.root) this.raise({ seq: batch.firstSeq, reason: "root-mismatch", batchId: batch.batchId });
    this.sweep.prevLeaf = result.lastLeaf;
    return events.length;
  }

  /** Events after the last batch, up to the head. */
  private async sweepUnbatched(): Promise<void> {
    let next = this.sweep.nextSeq;
    let prev = this.sweep.prevLeaf;
    for (;;) {
      const page = await this.events.eventsFrom(next, PAGE_EVENTS);
      if (page.length === 0) return;
      this.eventsChecked += page.length;
      const result = await checkRunYielding(page, next, prev);
      if ("failure" in result) return this.raise(result.failure);
      next = result.lastSeq + 1;
      prev = result.lastLeaf;
      if (page.length < PAGE_EVENTS) return;
    }
  }

  /**
   * The stored root and range of a confirmed batch must be the ones anchored, and the batch still valid on
   * chain. AccessLedger v2 keeps a root under (id, range), so asking with the stored range checks both. An
   * unreachable chain is not a failure.
   */
  private async checkAgainstChain(batch: AnchorBatchEntity): Promise<void> {
    if (batch.state !== "confirmed") return;
    const key = `${batch.firstSeq}:${batch.lastSeq}`;
    let onChain = this.chainBatches.get(batch.batchId);
    if (!onChain || onChain.range !== key) {
      try {
        const stored = await this.chain.ledger.getBatch(batch.batchId, batch.firstSeq, batch.lastSeq);
        onChain = { root: String(stored.root).toLowerCase(), range: key, valid: Number(stored.status) === 0 };
      } catch (error) {
        const refusal = (error as { revert?: { name?: string } }).revert?.name;
        if (refusal !== "BatchRangeMismatch" && refusal !== "BatchNotFound") return;
        onChain = { root: "", range: key, valid: false };
      }
      if (this.chainBatches.size >= CHAIN_BATCH_CACHE) this.chainBatches.delete(this.chainBatches.keys().next().value!);
      this.chainBatches.set(batch.batchId, onChain);
    }
    if (!onChain.valid || onChain.root !== batch.root.toLowerCase()) {
      this.raise({ seq: batch.firstSeq, reason: "chain-root-mismatch", batchId: batch.batchId });
    }
  }

  private raise(failure: TrailFailure): void {
    this.failure = lowest(this.failure, failure);
    if (this.failure !== failure) return;
    // Sequence numbers and reasons only: the alarm must not carry personal data.
    this.logger.error({ message: "Access trail integrity alarm", seq: failure.seq, reason: failure.reason, batchId: failure.batchId });
  }
}

/** The failure at the lower seq: the first place the trail goes wrong. */
function lowest(a: TrailFailure | null, b: TrailFailure | null): TrailFailure | null {
  if (!a) return b;
  if (!b) return a;
  return b.seq < a.seq ? b : a;
}
