import { ChainDecision, type ChainDecisionResult, type ChainReader } from "./chain-reader";
import type { Failure } from "./failures";
import { Decision, ZERO_ADDRESS, ZERO_HASH, type LeafFields } from "./trail-format";

const PERMIT_EFFECT = 0; // ConsentRegistry.Effect.Permit

/**
 * Does the chain back a consent decision recorded in the trail? Permits and denies are checked; other
 * decisions name no consent. An event without a patient has no consent to check. Consent is always about
 * the `requester` (docs/access-trail.md): for a consult, the institution that would receive the data, not
 * the custodian asking. Returns null when the chain agrees.
 */
export function checkDecision(chain: ChainReader, e: LeafFields): Promise<Failure | null> | null {
  if (e.patient === ZERO_ADDRESS) return null;
  if (e.decision === Decision.Permit) return checkPermit(chain, e);
  if (e.decision === Decision.Deny) return checkDeny(chain, e);
  return null;
}

/**
 * Was a released access (decision permit) covered by its consent at the moment of access?
 *
 * Two independent questions, both answered by the chain: does the named consent itself cover the
 * access (patient, grantee, categories, purposes, effect, active at t), and does the chain's own
 * decision for that moment agree — a matching deny consent overrides any permit (docs/architecture.md §4).
 */
export async function checkPermit(chain: ChainReader, e: LeafFields): Promise<Failure | null> {
  const t = chainSeconds(e.time);
  if (e.consentId === ZERO_HASH) return { reason: "consent-missing", detail: "permit without a consentId" };

  const c = await chain.getConsent(e.consentId);
  if (!c) return { reason: "consent-missing", detail: `consent ${e.consentId} does not exist on chain` };

  if (c.patient !== e.patient) return mismatch(`consent ${c.id} belongs to patient ${c.patient}, not ${e.patient}`);
  if (c.effect !== PERMIT_EFFECT) return mismatch(`consent ${c.id} is a deny consent`);
  if (c.grantee !== ZERO_ADDRESS && c.grantee !== e.requester) {
    return mismatch(`consent ${c.id} is granted to ${c.grantee}, not to the requester ${e.requester}`);
  }
  // A permit, specific or for any institution, counts only for a requester that was an institution at the
  // instant of access (ConsentRegistry v2 keeps the membership history, so this is exact for any past t).
  if (!(await chain.isInstitutionAt(e.requester, t))) {
    return mismatch(`consent ${c.id} permits institutions and requester ${e.requester} was not one at ${t}`);
  }
  // An empty question is "covered" by any consent, which is why decide() refuses it; so do we.
  if (e.categories === 0n || e.purposes === 0n) return mismatch("a permit must name at least one category and one purpose");
  if ((e.categories & ~c.categories) !== 0n) return mismatch(`categories ${e.categories} are not within the consent's ${c.categories}`);
  if ((e.purposes & ~c.purposes) !== 0n) return mismatch(`purposes ${e.purposes} are not within the consent's ${c.purposes}`);

  if (c.revokedAt !== 0 && t >= c.revokedAt) {
    return { reason: "consent-revoked", detail: `consent ${c.id} was revoked at ${c.revokedAt}, access at ${t}` };
  }
  if (c.grantedAt > t) return notActive(`consent ${c.id} was granted at ${c.grantedAt}, after the access at ${t}`);
  if (c.validFrom > t) return notActive(`consent ${c.id} is valid from ${c.validFrom}, after the access at ${t}`);
  if (c.validUntil !== 0 && t >= c.validUntil) return notActive(`consent ${c.id} expired at ${c.validUntil}, access at ${t}`);

  const decided = await chain.decide(e.patient, e.requester, e.categories, e.purposes, t);
  if (decided.decision === ChainDecision.Deny) {
    return { reason: "consent-denied", detail: `deny consent ${decided.consentId} overrides the permit at ${t}` };
  }
  if (decided.decision !== ChainDecision.Permit) return mismatch(`the chain decides ${describe(decided)} at ${t}`);
  return null;
}

/** Was a refusal under a deny consent (decision deny) the chain's own decision at that moment, under that consent? */
export async function checkDeny(chain: ChainReader, e: LeafFields): Promise<Failure | null> {
  const t = chainSeconds(e.time);
  // decide() refuses an empty question rather than answering deny; no call needed to know that.
  if (e.categories === 0n || e.purposes === 0n) return denyMismatch("a deny must name at least one category and one purpose");
  const decided = await chain.decide(e.patient, e.requester, e.categories, e.purposes, t);
  if (decided.decision !== ChainDecision.Deny) {
    return denyMismatch(`the chain decides ${describe(decided)} for requester ${e.requester} at ${t}, not deny`);
  }
  if (e.consentId !== ZERO_HASH && decided.consentId !== e.consentId) {
    return denyMismatch(`the event names consent ${e.consentId}; the chain denies under ${decided.consentId} at ${t}`);
  }
  return null;
}

/** The trail records milliseconds; the chain's clock is in seconds. */
const chainSeconds = (ms: number) => Math.floor(ms / 1000);

function describe(d: ChainDecisionResult): string {
  if (d.invalid) return `nothing (decide() reverts with ${d.invalid})`;
  if (d.decision === ChainDecision.NoConsent) return "no-consent";
  if (d.decision === ChainDecision.Permit) return `permit under ${d.consentId}`;
  if (d.decision === ChainDecision.Deny) return `deny under ${d.consentId}`;
  return String(d.decision);
}

const mismatch = (detail: string): Failure => ({ reason: "consent-mismatch", detail });
const notActive = (detail: string): Failure => ({ reason: "consent-not-active", detail });
const denyMismatch = (detail: string): Failure => ({ reason: "deny-mismatch", detail });
