import { VerificationFailure, type Failure, type FirstFailure, type Location } from "./failures";

interface PendingCheck {
  where: Location;
  /** Its place in trail order: the event's seq; a batch's checks come just before its first event's. */
  rank: number;
  /** Its failure is the verdict as it stands: no reading ahead turns it into another (see VerificationFailure.final). */
  final: boolean;
  /** The check's answer, once it has come. */
  result: CheckResult | null;
  outcome: Promise<CheckResult>;
}

type CheckResult = { failure: Failure | null } | { error: unknown };

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
  private pending: PendingCheck[] = [];
  /** pending[head] is the oldest check still queued. */
  private head = 0;

  get size(): number {
    return this.pending.length - this.head;
  }

  add(where: Location, check: Promise<Failure | null>, options: CheckOptions = {}): void {
    const entry: PendingCheck = { where, rank: options.rank ?? where.seq ?? Infinity, final: options.final ?? false, result: null, outcome: null! };
    // Settle into a value at once so a rejection is never "unhandled" while it waits its turn.
    entry.outcome = check.then(
      (failure) => (entry.result = { failure }),
      (error: unknown) => (entry.result = { error }),
    );
    this.pending.push(entry);
  }

  /** A check whose verdict is already known (the chain's answers were cached): a failure waits its turn like any other. */
  addFailure(where: Location, failure: Failure): void {
    this.add(where, Promise.resolve(failure));
  }

  /** Takes the checks that have answered off the front, without waiting; throws the first failure among them. */
  drain(): void {
    while (this.head < this.pending.length) {
      const entry = this.pending[this.head];
      if (entry.result === null) return;
      this.takeHead();
      judge(entry, entry.result);
    }
  }

  /** Waits for checks in order until at most `keep` are in flight; throws the first failure in trail order. */
  async settle(keep: number): Promise<void> {
    while (this.size > keep) {
      const entry = this.pending[this.head];
      const result = await entry.outcome;
      this.takeHead();
      judge(entry, result);
    }
  }

  private takeHead(): void {
    this.pending[this.head++] = undefined!;
    if (this.head >= 1024 && 2 * this.head >= this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The failure to report given `failure`, found elsewhere: a check still in flight for an earlier seq wins.
   * Checks of later events are drained but cannot change the verdict, so their RPC errors do not matter;
   * an RPC error before the failure does, since that check's verdict is unknown.
   */
  async earliest(failure: FirstFailure): Promise<FirstFailure> {
    const pending = this.pending.slice(this.head);
    this.pending = [];
    this.head = 0;
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

function judge({ where, final }: PendingCheck, result: CheckResult): void {
  if ("error" in result) throw result.error;
  if (result.failure) throw new VerificationFailure({ ...where, ...result.failure }, final);
}
