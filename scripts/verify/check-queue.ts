import { VerificationFailure, type Failure, type FirstFailure, type Location } from "./failures";

interface PendingCheck {
  where: Location;
  /** Its place in trail order: the event's seq; a batch's checks come just before its first event's. */
  rank: number;
  /** Its failure is the verdict as it stands: no reading ahead turns it into another (see VerificationFailure.final). */
  final: boolean;
  outcome: Promise<{ failure: Failure | null } | { error: unknown }>;
}

export interface CheckOptions {
  /** Trail order (default: the seq of `where`, or last when it has none). */
  rank?: number;
  final?: boolean;
}

/**
 * Checks in flight, in trail order: each batch line against the chain, and the consent checks whose chain
 * answers were not cached yet. They wait on the chain, so many run at once; but the verdict must not
 * depend on which answer arrives first: the failure reported is always the one earliest in the trail
 * (lowest seq; a batch's own check before its events), whether it came from a check in flight or from the
 * line being read.
 */
export class CheckQueue {
  private readonly pending: PendingCheck[] = [];

  get size(): number {
    return this.pending.length;
  }

  add(where: Location, check: Promise<Failure | null>, options: CheckOptions = {}): void {
    // Settle into a value at once so a rejection is never "unhandled" while it waits its turn.
    const outcome = check.then((failure) => ({ failure }), (error: unknown) => ({ error }));
    this.pending.push({ where, rank: options.rank ?? where.seq ?? Infinity, final: options.final ?? false, outcome });
  }

  /** A check whose verdict is already known (the chain's answers were cached): a failure waits its turn like any other. */
  addFailure(where: Location, failure: Failure): void {
    this.add(where, Promise.resolve(failure));
  }

  /** Waits for checks in order until at most `keep` are in flight; throws the first failure in trail order. */
  async settle(keep: number): Promise<void> {
    while (this.pending.length > keep) {
      const { where, outcome, final } = this.pending.shift()!;
      const result = await outcome;
      if ("error" in result) throw result.error;
      if (result.failure) throw new VerificationFailure({ ...where, ...result.failure }, final);
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
    // Checks are queued in trail order, and only after their event's own checks passed; a tampered export
    // can still put them out of seq order, hence the sort.
    const before = pending.map((p, i) => ({ ...p, result: outcomes[i] })).filter((p) => p.rank < limit);
    before.sort((a, b) => a.rank - b.rank);
    for (const { where, result } of before) {
      if ("error" in result) throw result.error;
      if (result.failure) return { ...where, ...result.failure };
    }
    return failure;
  }
}
