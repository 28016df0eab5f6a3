/**
 * Why a trail fails. The codes are stable: scripts and regulators match on them.
 */
export const REASONS = {
  "malformed-line": "a line is not valid JSON or does not follow the export format",
  truncated: "the export ends early: no end line, an incomplete last line, or the file stops inside a batch",
  "header-mismatch": "the header is missing or does not match the deployment (chainId, contracts, version, leaf types of either format)",
  "chain-mismatch": "the RPC endpoint is not the deployment's chain, or the contracts are not there",
  "batch-not-on-chain": "a batch of the export was never anchored",
  "batch-void": "a batch of the export was declared void or superseded on chain by the ledger's governance",
  "root-mismatch": "the exported batch root differs from the root anchored on chain",
  "range-mismatch": "a batch's sequence range differs from the chain, or an event lies outside its batch",
  "anchor-mismatch": "the exported block number of a batch differs from the chain",
  "sequence-gap": "batches are missing, or an event comes before events due ahead of it",
  "sequence-order": "an event is duplicated or out of order",
  "hash-link-broken": "an event's prevHash is not the leaf of the event before it",
  "leaf-mismatch": "the leaf recomputed from an event's fields differs from its exported leaf",
  "proof-invalid": "an event's inclusion proof does not lead to its batch's on-chain root",
  "count-mismatch": "the end line's counts differ from the lines exported",
  "consent-missing": "a permit names no consent, or one that does not exist on chain",
  "consent-mismatch": "a permit's consent does not cover it (patient, grantee = the requester, categories, purposes or effect)",
  "consent-revoked": "a permit's consent was revoked at or before the access",
  "consent-not-active": "a permit's consent was not yet granted, not yet valid or expired at the access",
  "consent-denied": "the chain's decision for the access is a deny, which overrides the permit",
  "break-glass-without-etreat": "a break-glass access does not state the ETREAT purpose",
  "event-missing": "events of a batch's anchored range are absent from the export (deleted): the missing seq numbers and the events around them are named",
  "break-glass-not-isolated": "a break-glass access shares its batch with other events; it must be anchored alone",
  "time-out-of-range": "an event of an interior batch lies outside the export's time range [from, to), or its first or last batch has no event inside it",
  "deny-mismatch": "a deny is not the chain's decision for (patient, requester, categories, purposes, time), or names another consent than the chain's",
} as const;

export type ReasonCode = keyof typeof REASONS;

export interface Failure {
  reason: ReasonCode;
  detail: string;
}

/** Where in the export a failure is; null when not applicable (for example a batch-level failure has no event id). */
export interface Location {
  seq: number | null;
  id: string | null;
  batchId: number | null;
  line: number | null;
}

/** An event next to a gap: `id` is null when its line could not be read. */
export interface Neighbour {
  seq: number;
  id: string | null;
}

/** The seq numbers an event-missing failure found absent, and the exported events on either side. */
export interface MissingEvents {
  fromSeq: number;
  toSeq: number;
  before: Neighbour | null;
  after: Neighbour | null;
}

export type FirstFailure = Location & Failure & { missing?: MissingEvents };

/** Thrown to stop verification at the first failure. */
export class VerificationFailure extends Error {
  /**
   * @param final the failure stands as found: a batch's own check against the chain, say, is never the
   *   consequence of a deleted event, so no reading ahead is done to diagnose it.
   */
  constructor(
    readonly failure: FirstFailure,
    readonly final = false,
  ) {
    super(`${failure.reason}: ${failure.detail}`);
  }
}

export const fail = (where: Location, reason: ReasonCode, detail: string): VerificationFailure =>
  new VerificationFailure({ ...where, reason, detail });
