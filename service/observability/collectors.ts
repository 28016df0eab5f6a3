import { Gauge } from "prom-client";
import type { TrailIntegrityReport } from "../audit/trail-monitor.service";
import { metricsRegistry } from "../common/metrics";
import type { IndexerFreshness } from "../projection/consent-indexer";

/**
 * What the gauges read at scrape time: the trail monitor's report, the indexer's freshness, the anchoring
 * backlog and the chain transactions per state. Read once per scrape (concurrent gauges share one read),
 * each source bounded by SOURCE_TIMEOUT_MS: a database or chain that does not answer leaves the gauges at
 * their last values and `consentry_metrics_source_up{source}` at 0. Nothing here runs per request.
 */
export interface ObservedState {
  trail(): TrailIntegrityReport;
  indexer(): Promise<IndexerFreshness>;
  anchoring(): Promise<{ headSeq: number; anchoredThroughSeq: number; unconfirmedBatches: number }>;
  transactions(): Promise<Array<{ state: string; count: number }>>;
}

export const SOURCE_TIMEOUT_MS = 2_000;
/** Gauges read within this long of one another share one read of their source. */
const SNAPSHOT_TTL_MS = 500;
/** Every state a chain transaction can be in: each is reported, 0 when no row is in it. */
const TRANSACTION_STATES = ["created", "sent", "mined", "confirmed", "failed", "replaced"] as const;

type SourceName = "trail" | "indexer" | "anchoring" | "transactions";

let state: ObservedState | undefined;

/** Makes `source` the state the gauges report (one service per process; tests may start several in turn). */
export function observeState(source: ObservedState): () => void {
  state = source;
  return () => {
    if (state === source) state = undefined;
  };
}

const registers = [metricsRegistry];

const sourceUp = new Gauge({
  name: "consentry_metrics_source_up",
  help: "1 when the last scrape could read this source (trail, indexer, anchoring, transactions), 0 when it failed or timed out",
  labelNames: ["source"] as const,
  aggregator: "min",
  registers,
});

/** One read of a source per scrape, shared by the gauges that report it; failures mark the source down. */
function snapshot<T>(name: SourceName, read: (s: ObservedState) => Promise<T> | T): () => Promise<T | undefined> {
  let last: { at: number; value: Promise<T | undefined> } | undefined;
  return () => {
    const source = state;
    if (!source) return Promise.resolve(undefined);
    if (last && Date.now() - last.at < SNAPSHOT_TTL_MS) return last.value;
    const value = withTimeout(Promise.resolve().then(() => read(source))).then(
      (v) => {
        sourceUp.set({ source: name }, 1);
        return v;
      },
      () => {
        sourceUp.set({ source: name }, 0);
        return undefined;
      },
    );
    last = { at: Date.now(), value };
    return value;
  };
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer in time")), SOURCE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const trail = snapshot("trail", (s) => s.trail());
const indexer = snapshot("indexer", (s) => s.indexer());
const anchoring = snapshot("anchoring", (s) => s.anchoring());
const transactions = snapshot("transactions", (s) => s.transactions());

/**
 * A gauge set from a snapshot at scrape time. `aggregator` says how workers' values combine (they read the
 * same database, so `max`/`min` rather than a sum).
 */
function gauge<T>(
  name: string,
  help: string,
  read: () => Promise<T | undefined>,
  value: (snapshot: T) => number | null,
  aggregator: "max" | "min",
): Gauge {
  return new Gauge({
    name,
    help,
    aggregator,
    registers,
    async collect() {
      const snap = await read();
      if (snap === undefined) return;
      // Unknown (null) is NaN, as Prometheus writes it, rather than a 0 that reads as a value.
      this.set(value(snap) ?? Number.NaN);
    },
  });
}

gauge("consentry_trail_ok", "The trail's self-verification (TrailMonitor): 1 while every check passed, 0 once an event failed", trail, (r) => (r.ok ? 1 : 0), "min");
gauge("consentry_trail_checked_through_seq", "New access events are verified up to this sequence number", trail, (r) => r.checkedThroughSeq, "max");
gauge("consentry_trail_sweeps", "Completed sweeps of the whole trail (leaves, links, roots, roots on chain) by the checking instance since it started", trail, (r) => r.sweeps, "max");
gauge(
  "consentry_trail_last_sweep_timestamp_seconds",
  "When the last complete sweep of the trail ended (Unix seconds); NaN before the first",
  trail,
  (r) => (r.lastSweepAt ? Date.parse(r.lastSweepAt) / 1000 : null),
  "max",
);

gauge("consentry_indexer_fresh", "1 while decisions may rely on the consent projection (caught up recently, chain reachable), 0 otherwise", indexer, (f) => (f.fresh ? 1 : 0), "min");
gauge("consentry_indexer_block", "The last chain block indexed into the consent projection", indexer, (f) => f.blockNumber, "max");
gauge("consentry_indexer_lag_blocks", "Blocks between the chain head the indexer last saw and the last block it indexed", indexer, (f) => Math.max(0, f.headNumber - f.blockNumber), "max");
gauge(
  "consentry_indexer_lag_seconds",
  "Time since the consent projection last caught up with the chain head (decisions answer 503 past CONSENT_MAX_STALENESS_MS); NaN before it first did",
  indexer,
  (f) => (f.lagMs === null ? null : f.lagMs / 1000),
  "max",
);

gauge("consentry_access_log_head_seq", "Sequence number of the last access event committed", anchoring, (a) => a.headSeq, "max");
gauge(
  "consentry_access_events_awaiting_anchoring",
  "Access events committed but not yet in a batch confirmed on chain",
  anchoring,
  (a) => Math.max(0, a.headSeq - a.anchoredThroughSeq),
  "max",
);
gauge("consentry_anchor_batches_unconfirmed", "Access batches built but not yet confirmed on chain", anchoring, (a) => a.unconfirmedBatches, "max");

new Gauge({
  name: "consentry_chain_transactions",
  help: "Chain transactions of the service's keys now in each state (rows of chain_transactions)",
  labelNames: ["state"] as const,
  aggregator: "max",
  registers,
  async collect() {
    const rows = await transactions();
    if (!rows) return;
    const counts = new Map(rows.map((r) => [r.state, r.count]));
    for (const s of TRANSACTION_STATES) this.set({ state: s }, counts.get(s) ?? 0);
  },
});
