import { Counter, Histogram, Registry } from "prom-client";

/**
 * The service's Prometheus instruments (docs/operations.md lists every series). Modules feed them with
 * one call where the thing happens; `service/observability/` adds the gauges read from the database and
 * the services' own state at scrape time, and serves `/metrics`. One registry per process: with several
 * workers the primary aggregates them (service/observability/cluster-metrics.ts).
 *
 * Cost: an observation is a label lookup and a few additions (well under a microsecond); nothing here
 * allocates beyond prom-client's own label handling, does I/O or awaits. Labels never carry a request's
 * values: routes are templates, the rest are fixed vocabularies.
 */
export const metricsRegistry = new Registry();

const registers = [metricsRegistry];

/** Seconds; from a fast cached read (1 ms) to a request that waited on the chain. */
const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequestDuration = new Histogram({
  name: "consentry_http_request_duration_seconds",
  help: "HTTP requests by method, route template (never the raw URL) and status: time from routing to the last byte sent",
  labelNames: ["method", "route", "status"] as const,
  buckets: LATENCY_BUCKETS_S,
  registers,
});

const accessLogCommitDuration = new Histogram({
  name: "consentry_access_log_commit_duration_seconds",
  help: "Group commits of the access log: time of one transaction appending a group of events",
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers,
});

const accessLogGroupSize = new Histogram({
  name: "consentry_access_log_commit_group_size",
  help: "Events per group commit of the access log (its sum counts the events committed)",
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
  registers,
});

const accessLogCommitFailures = new Counter({
  name: "consentry_access_log_commit_failures_total",
  help: "Access events that could not be committed (their requests were refused with 503 audit-unavailable)",
  registers,
});

const accessToAnchored = new Histogram({
  name: "consentry_access_to_anchored_seconds",
  help: "Per access event: from its access time to its batch confirmed on chain (observed by the instance that anchors)",
  buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
  registers,
});

const anchorBatches = new Counter({
  name: "consentry_anchor_batches_confirmed_total",
  help: "Access batches this instance got confirmed on chain",
  registers,
});

const indexerPollFailures = new Counter({
  name: "consentry_indexer_poll_failures_total",
  help: "Consent indexer polls that failed (chain unreachable, a reorganisation raced the poll)",
  registers,
});

const chainTransactions = new Counter({
  name: "consentry_chain_transactions_total",
  help: "Chain transactions that entered each state (created, sent, mined, confirmed, failed, replaced), by kind",
  labelNames: ["kind", "state"] as const,
  registers,
});

const accessDecisions = new Counter({
  name: "consentry_access_decisions_total",
  help: "Access events committed, by decision: permit, deny, no-consent (the consent rule's outcomes), self, break-glass, unavailable (503), rejected (refused before the rules), recorded (writes, relays)",
  labelNames: ["decision"] as const,
  registers,
});

const rateLimitRefusals = new Counter({
  name: "consentry_rate_limit_refusals_total",
  help: "Requests refused with 429 by the rate limiter, by interface (first segment of the route template)",
  labelNames: ["interface"] as const,
  registers,
});

/** Access times of the events in batches this instance built, until the batch is confirmed. */
const pendingBatches = new Map<number, number[]>();
/** Batches built but never confirmed here (another instance took over) are forgotten past this many. */
const PENDING_BATCHES_MAX = 64;

/** The hooks other modules call: each is one line at the place where the thing happens. */
export const metrics = {
  /** A group commit of `events` took `seconds`; `decisionName` names an event's decision code. */
  accessLogCommitted(events: readonly { decision: number }[], seconds: number, decisionName: (decision: number) => string): void {
    accessLogCommitDuration.observe(seconds);
    accessLogGroupSize.observe(events.length);
    const tally = new Map<number, number>();
    for (const e of events) tally.set(e.decision, (tally.get(e.decision) ?? 0) + 1);
    for (const [decision, count] of tally) accessDecisions.inc({ decision: decisionName(decision) }, count);
  },
  accessLogCommitFailed(): void {
    accessLogCommitFailures.inc();
  },
  /** A batch was built from these events: their access times are kept until it is confirmed. */
  anchorBatchBuilt(batchId: number, events: readonly { timeMs: number }[]): void {
    if (pendingBatches.size >= PENDING_BATCHES_MAX) pendingBatches.delete(pendingBatches.keys().next().value!);
    pendingBatches.set(batchId, events.map((e) => e.timeMs));
  },
  /** The batch is confirmed on chain: each of its events (if this instance built it) observes its latency. */
  anchorBatchConfirmed(batchId: number, nowMs = Date.now()): void {
    anchorBatches.inc();
    const times = pendingBatches.get(batchId);
    if (!times) return;
    pendingBatches.delete(batchId);
    // Access times can run slightly ahead of this clock (decisions follow block time): never negative.
    for (const t of times) accessToAnchored.observe(Math.max(0, nowMs - t) / 1000);
  },
  indexerPollFailed(): void {
    indexerPollFailures.inc();
  },
  chainTransaction(kind: string, state: string): void {
    chainTransactions.inc({ kind, state });
  },
  rateLimited(routeTemplate: string | undefined): void {
    rateLimitRefusals.inc({ interface: interfaceOfRoute(routeTemplate) });
  },
};

/** `/fhir/:type/:id` → `fhir`; a request no route matched → `unmatched` (its path is the caller's, never a label). */
export function interfaceOfRoute(routeTemplate: string | undefined): string {
  if (!routeTemplate) return "unmatched";
  const first = routeTemplate.split("/")[1] ?? "";
  return first === "" ? "root" : first.startsWith(":") || first.includes("*") ? "other" : first;
}
