import { VerificationFailure, type Failure, type FirstFailure, type Location } from "./failures";

interface PendingCheck {
  where: Location;
  outcome: Promise<{ failure: Failure | null } | { error: unknown }>;
}

/**
 * Consent checks in flight, in trail order. They wait on the chain, so many run at once; but the verdict
 * must not depend on which answer arrives first: the failure reported is always the one with the lowest
 * seq, whether it came from a check in flight or from the line being read.
 */
export class CheckQueue {
  private readonly pending: PendingCheck[] = [];

  get size(): number {
    return this.pending.length;
  }

  add(where: Location, check: Promise<Failure | null>): void {
    // Settle into a value at once so a rejection is never "unhandled" while it waits its turn.
    this.pending.push({ where, outcome: check.then((failure) => ({ failure }), (error: unknown) => ({ error })) });
  }

  /** Waits for checks in order until at most `keep` are in flight; throws the first failure in trail order. */
  async settle(keep: number): Promise<void> {
    while (this.pending.length > keep) {
      const { where, outcome } = this.pending.shift()!;
      const result = await outcome;
      if ("error" in result) throw result.error;
      if (result.failure) throw new VerificationFailure({ ...where, ...result.failure });
    }
  }

  /**
   * The failure to report given `failure`, found elsewhere: a check still in flight for an earlier seq wins.
   * Checks of later events are drained but cannot change the verdict, so their RPC errors do not matter;
   * an RPC error before the failure does, since that check's verdict is unknown.
   */
  async earliest(failure: FirstFailure): Promise<FirstFailure> {
    const pending = this.pending.splice(0);
    const outcomes = await Promise.all(pending.map((p) => p.outcome));
    const limit = failure.seq ?? Infinity;
    for (const [i, result] of outcomes.entries()) {
      const where = pending[i].where;
      // Checks are queued in seq order, and only after their event's own checks passed.
      if ((where.seq ?? Infinity) >= limit) break;
      if ("error" in result) throw result.error;
      if (result.failure) return { ...where, ...result.failure };
    }
    return failure;
  }
}
