import type { FirstFailure } from "./failures";

/**
 * How far an interior event's time may lie outside the range. Event times are stamped when an access is
 * decided, sequence numbers when it is committed, and decisions never precede the last indexed block's
 * time, which a chain's clock may run seconds ahead of: near the edges, times and sequence numbers are
 * out of step by that much in an honest trail. A time further out is a mislabelled event.
 */
export const CLOCK_SKEW_MS = 60_000;

interface OpenBatch {
  batchId: number;
  firstSeq: number;
  lastSeq: number;
  isFirst: boolean;
  inside: number;
  /** The lowest-seq event outside the range: a failure if the batch turns out to be interior. */
  outside: { seq: number; id: string; time: number; line: number } | null;
}

/**
 * The export's time range (docs/access-trail.md): the batches exported are those with an event in
 * [from, to). The first and last of them may also hold events outside it, but each has one inside;
 * every other batch lies inside it, give or take CLOCK_SKEW_MS. Whether a batch is the last is known
 * only when the line after it arrives, so a batch's verdict is given when it closes.
 */
export class TimeRangeCheck {
  private batch: OpenBatch | null = null;
  private batches = 0;

  constructor(
    private readonly from: number,
    private readonly to: number,
  ) {}

  /** A batch line. Pruned batches have no events to place, so they are only counted. */
  open(batchId: number, firstSeq: number, lastSeq: number, pruned: boolean): void {
    const isFirst = this.batches++ === 0;
    this.batch = pruned ? null : { batchId, firstSeq, lastSeq, isFirst, inside: 0, outside: null };
  }

  event(seq: number, id: string, time: number, line: number): void {
    const b = this.batch;
    if (!b) return;
    if (time >= this.from && time < this.to) b.inside++;
    else if (!b.outside && (time < this.from - CLOCK_SKEW_MS || time >= this.to + CLOCK_SKEW_MS)) b.outside = { seq, id, time, line };
  }

  /**
   * The open batch ends because another batch follows: it was the first batch or an interior one.
   * An incomplete batch gets no "nothing inside" verdict: its missing events might have been.
   */
  closeBeforeNext(line: number, complete: boolean): FirstFailure | null {
    const b = this.batch;
    this.batch = null;
    if (!b) return null;
    if (b.isFirst) return b.inside > 0 || !complete ? null : this.empty(b, "first", line);
    return b.outside ? this.interior(b) : null;
  }

  /** The open batch ends at the end line: it was the last batch. */
  closeAtEnd(line: number, complete: boolean): FirstFailure | null {
    const b = this.batch;
    this.batch = null;
    return b && complete && b.inside === 0 ? this.empty(b, "last", line) : null;
  }

  /**
   * The failure the open batch holds should another batch follow it: the diagnosis of a failure found
   * mid-batch asks, since an earlier out-of-range event in an interior batch is the first bad event.
   */
  ifInterior(): FirstFailure | null {
    const b = this.batch;
    return b && !b.isFirst && b.outside ? this.interior(b) : null;
  }

  private interior(b: OpenBatch): FirstFailure {
    const o = b.outside!;
    return {
      seq: o.seq,
      id: o.id,
      batchId: b.batchId,
      line: o.line,
      reason: "time-out-of-range",
      detail: `event time ${iso(o.time)} is outside the export's range [${iso(this.from)}, ${iso(this.to)}) (by more than ${CLOCK_SKEW_MS / 1000} s) in batch ${b.batchId}, which is neither the first nor the last batch exported`,
    };
  }

  private empty(b: OpenBatch, which: "first" | "last", line: number): FirstFailure {
    return {
      seq: b.firstSeq,
      id: null,
      batchId: b.batchId,
      line,
      reason: "time-out-of-range",
      detail: `batch ${b.batchId} (seq ${b.firstSeq}..${b.lastSeq}), the ${which} batch exported, has no event in the export's range [${iso(this.from)}, ${iso(this.to)})`,
    };
  }
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
