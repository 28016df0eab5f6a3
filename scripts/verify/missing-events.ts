import type { MissingEvents, Neighbour } from "./failures";
import { peekLine } from "./line-peek";
import type { LineSource } from "./line-source";

/** What is known of a batch whose events stopped arriving in order. */
export interface BatchSoFar {
  /** The first seq not yet verified in order, and the batch's last. */
  nextSeq: number;
  lastSeq: number;
  /** Events of the batch already read beyond `nextSeq` (the one that arrived early, or failed its proof). */
  seen: Neighbour[];
  /** The verified event just before `nextSeq`, if it is in the export. */
  before: Neighbour | null;
  /** Set when the line that closed the batch was already read; otherwise its remaining lines follow. */
  closedBy?: "batch" | "end";
}

export interface LookaheadResult {
  /** The line that ended the batch: a batch line means it was not the export's last. */
  closedBy: "batch" | "end" | "eof" | "other";
  /** The first run of seq numbers absent from the batch, or null when none is (or none can be told). */
  missing: MissingEvents | null;
}

/**
 * Reads the rest of a batch from `source` (and, when its last events are absent, on to the next event
 * line) to tell a deleted event from one that is merely out of place or carries a bad proof: deleting an
 * event changes its batch's tree, so its neighbours' proofs fail too, and those failures are consequences.
 * Only seq numbers are noted, so memory is bounded by the batch's anchored range.
 */
export async function lookAhead(source: LineSource, batch: BatchSoFar): Promise<LookaheadResult> {
  const present = new Map<number, string | null>();
  const note = (seq: number, id: string | null) => {
    if (seq >= batch.nextSeq && seq <= batch.lastSeq && !present.has(seq)) present.set(seq, id);
  };
  for (const e of batch.seen) note(e.seq, e.id);
  let highest = Math.max(batch.nextSeq - 1, ...batch.seen.map((e) => e.seq));
  let closedBy: LookaheadResult["closedBy"] = batch.closedBy ?? "eof";
  // A garbled line might be the "missing" event: then nothing can be said about gaps.
  let unreadable = false;
  if (!batch.closedBy) {
    // More event lines than the range holds means a broken batch, not a gap; stop there.
    let budget = batch.lastSeq - batch.nextSeq + 2;
    for (let text = await source.next(); text !== null; text = await source.next()) {
      if (text.trim() === "") continue;
      const p = peekLine(text);
      if (p.kind === "event" || p.kind === null) {
        if (p.seq === null) unreadable = true;
        else {
          note(p.seq, p.id);
          highest = Math.max(highest, p.seq);
        }
        if (--budget > 0) continue;
      }
      closedBy = p.kind === "batch" ? "batch" : p.kind === "end" ? "end" : "other";
      break;
    }
  }
  if (unreadable) return { closedBy, missing: null };

  // A file that simply stops is cut short, not missing events: only holes below what was seen count then.
  const upper = closedBy === "batch" || closedBy === "end" ? batch.lastSeq : Math.min(highest, batch.lastSeq);
  let from = batch.nextSeq;
  while (from <= upper && present.has(from)) from++;
  if (from > upper) return { closedBy, missing: null };
  let to = from;
  while (to < upper && !present.has(to + 1)) to++;

  const before = from === batch.nextSeq ? (batch.before?.seq === from - 1 ? batch.before : null) : { seq: from - 1, id: present.get(from - 1) ?? null };
  let after: Neighbour | null = to < batch.lastSeq ? { seq: to + 1, id: present.get(to + 1) ?? null } : null;
  if (!after && closedBy === "batch") {
    after = await nextEvent(source);
    // The next batch's first events are gone too: the run reaches up to whatever event comes next.
    if (after && after.seq > to + 1) to = after.seq - 1;
  }
  return { closedBy, missing: { fromSeq: from, toSeq: to, before, after } };
}

/** The next event line past any batch lines (pruned batches have none), or null at the end. */
async function nextEvent(source: LineSource): Promise<Neighbour | null> {
  for (let text = await source.next(); text !== null; text = await source.next()) {
    const p = peekLine(text);
    if (p.kind === "batch" || text.trim() === "") continue;
    return p.kind === "event" && p.seq !== null ? { seq: p.seq, id: p.id } : null;
  }
  return null;
}

export function describeMissing(m: MissingEvents, batchId: number): string {
  const what = m.fromSeq === m.toSeq ? `seq ${m.fromSeq} is` : `seq ${m.fromSeq}..${m.toSeq} are`;
  const side = (n: Neighbour | null, none: string) => (n ? `seq ${n.seq}${n.id ? ` (id ${n.id})` : ""}` : none);
  return `${what} missing from batch ${batchId}: the export goes from ${side(m.before, "nothing exported")} to ${side(m.after, "nothing further")}`;
}
