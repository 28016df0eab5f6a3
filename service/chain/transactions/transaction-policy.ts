/**
 * Sent-but-unmined transactions one signer keeps at the node at most. Besu's pool holds only a limited
 * number of future nonces per sender (docs/architecture.md §8), and a short queue recovers from a nonce gap quickly.
 * Mined rows waiting for confirmations do not count: they no longer occupy the pool, and counting them
 * would stall a chain that only makes blocks when it has transactions (Hardhat automine).
 */
export const TX_MAX_IN_FLIGHT = 8;
/** First retry delay after a retryable failure; doubles per attempt up to TX_RETRY_MAX_MS. */
export const TX_RETRY_BASE_MS = 250;
export const TX_RETRY_MAX_MS = 8_000;
/** Passes through estimate → sign → broadcast before a request is given up (or left to the monitor once signed). */
export const TX_MAX_ATTEMPTS = 6;
/** A sent transaction the node no longer knows, with its nonce still unused, is re-sent after this long. */
export const TX_REBROADCAST_MS = 30_000;
/** How often the writer checks receipts, confirmations, replacements and queued requests (QBFT blocks take 1–2 s; a quarter second keeps relayed revocations prompt). */
export const TX_MONITOR_POLL_MS = 250;
/** How often an instance that is not a signer's writer tries to become it. */
export const TX_LEADERSHIP_POLL_MS = 5_000;
/** How often a waiter re-reads its row when no in-process change woke it (the writer may be another instance). */
export const TX_WAIT_POLL_MS = 1_000;
/** Default limit for `TrackedTransaction.wait`. */
export const TX_WAIT_TIMEOUT_MS = 120_000;
/** Gas limit = estimate × this / 100: state may change between estimate and inclusion. */
export const TX_GAS_HEADROOM_PERCENT = 120n;
/**
 * Consecutive monitor passes that must see our nonce used without our receipt before the transaction
 * counts as replaced: one lagging node behind a load balancer must not cause a resubmission.
 */
export const TX_REPLACED_AFTER_CHECKS = 2;

/** The timings above, overridable per manager (tests run them in milliseconds). */
export interface TransactionTiming {
  maxInFlight: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  rebroadcastMs: number;
  monitorPollMs: number;
  leadershipPollMs: number;
  waitPollMs: number;
}

export const DEFAULT_TRANSACTION_TIMING: Readonly<TransactionTiming> = {
  maxInFlight: TX_MAX_IN_FLIGHT,
  retryBaseMs: TX_RETRY_BASE_MS,
  retryMaxMs: TX_RETRY_MAX_MS,
  maxAttempts: TX_MAX_ATTEMPTS,
  rebroadcastMs: TX_REBROADCAST_MS,
  monitorPollMs: TX_MONITOR_POLL_MS,
  leadershipPollMs: TX_LEADERSHIP_POLL_MS,
  waitPollMs: TX_WAIT_POLL_MS,
};

/** Delay before retry number `attempt` (1-based): bounded exponential backoff. */
export function backoffMs(attempt: number, timing: Pick<TransactionTiming, "retryBaseMs" | "retryMaxMs">): number {
  return Math.min(timing.retryMaxMs, timing.retryBaseMs * 2 ** Math.max(0, attempt - 1));
}
