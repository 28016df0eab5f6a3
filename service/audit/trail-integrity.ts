import { unavailable, type Problem } from "../common/problem";
import { leafHash, ZERO_HASH, type AccessEventFields } from "./access-event";
import type { AccessEventEntity } from "./audit.entities";

/** Why the stored trail fails its own check. Stable codes: operators alert on them. */
export type TrailFault =
  | "leaf-mismatch" // an event's columns no longer hash to its stored leaf
  | "hash-link-broken" // an event's prevHash is not the leaf of the event before it
  | "event-missing" // a sequence number has no event
  | "head-mismatch" // the log head disagrees with the last event
  | "root-mismatch" // a batch's events no longer build its stored root
  | "chain-root-mismatch"; // a batch's stored root or range differs from the one anchored on chain

export interface TrailFailure {
  seq: number;
  reason: TrailFault;
  batchId?: number;
}

/** The leaf an event's columns hash to. */
export function leafOfRow(e: AccessEventEntity): string {
  return "0x" + leafHash(e as unknown as AccessEventFields).toString("hex");
}

/**
 * Checks a run of events meant to be `firstSeq, firstSeq+1, …` with no gap, each hashing to its leaf and
 * linked to the one before (`prevLeaf`; null when unknown, e.g. after a pruned batch). Returns the first
 * failure, or the run's last seq and leaf.
 */
export function checkRun(
  events: readonly AccessEventEntity[],
  firstSeq: number,
  prevLeaf: string | null,
): { failure: TrailFailure } | { lastSeq: number; lastLeaf: string | null } {
  let expected = firstSeq;
  let prev = prevLeaf;
  for (const e of events) {
    if (e.seq !== expected) return { failure: { seq: expected, reason: "event-missing" } };
    if (leafOfRow(e) !== e.leaf) return { failure: { seq: e.seq, reason: "leaf-mismatch" } };
    if (prev !== null && e.prevHash !== prev) return { failure: { seq: e.seq, reason: "hash-link-broken" } };
    prev = e.leaf;
    expected++;
  }
  return { lastSeq: expected - 1, lastLeaf: prev };
}

/** Events hashed between two turns of the event loop while the monitor checks: requests wait at most a few ms. */
const EVENTS_PER_TURN = 256;

/**
 * `checkRun` for the background monitor: the same check, giving the event loop back every EVENTS_PER_TURN
 * events, so re-hashing thousands of events does not stall the requests being served meanwhile.
 */
export async function checkRunYielding(
  events: readonly AccessEventEntity[],
  firstSeq: number,
  prevLeaf: string | null,
): Promise<ReturnType<typeof checkRun>> {
  let seq = firstSeq;
  let prev = prevLeaf;
  for (let i = 0; i < events.length; i += EVENTS_PER_TURN) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const result = checkRun(events.slice(i, i + EVENTS_PER_TURN), seq, prev);
    if ("failure" in result) return result;
    seq = result.lastSeq + 1;
    prev = result.lastLeaf;
  }
  return { lastSeq: seq - 1, lastLeaf: prev };
}

/** The problem an event that fails its own check is withheld with: nothing is served that the trail cannot vouch for. */
export function trailIntegrityProblem(seq: number): Problem {
  return unavailable("trail-integrity-failure", `The stored access trail fails its integrity check at seq ${seq}; it is withheld until an operator investigates`, {
    seq,
  });
}

/** Throws for the first event whose columns do not hash to its stored leaf. */
export function assertIntact(events: readonly AccessEventEntity[]): void {
  for (const e of events) if (leafOfRow(e) !== e.leaf) throw trailIntegrityProblem(e.seq);
}

export const GENESIS_LEAF = ZERO_HASH;
