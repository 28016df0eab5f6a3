import { ChainDecision, type ChainReader } from "./chain-reader";
import type { Failure } from "./failures";
import { ZERO_ADDRESS, ZERO_HASH, type LeafFields } from "./trail-format";

const PERMIT_EFFECT = 0; // ConsentRegistry.Effect.Permit

/**
 * Was a released access (decision permit) covered by its consent at the moment of access?
 *
 * Two independent questions, both answered by the chain: does the named consent itself cover the
 * access (patient, grantee, categories, purposes, effect, active at t), and does the chain's own
 * decision for that moment agree — a matching deny consent overrides any permit (docs/architecture.md §4).
 * Returns null when covered.
 */
export async function checkPermit(chain: ChainReader, e: LeafFields): Promise<Failure | null> {
  // The trail records milliseconds; the chain's clock is in seconds.
  const t = Math.floor(e.time / 1000);
  if (e.consentId === ZERO_HASH) return { reason: "consent-missing", detail: "permit without a consentId" };

  const c = await chain.getConsent(e.consentId);
  if (!c) return { reason: "consent-missing", detail: `consent ${e.consentId} does not exist on chain` };

  if (c.patient !== e.patient) return mismatch(`consent ${c.id} belongs to patient ${c.patient}, not ${e.patient}`);
  if (c.effect !== PERMIT_EFFECT) return mismatch(`consent ${c.id} is a deny consent`);
  if (c.grantee === ZERO_ADDRESS) {
    // A wildcard consent covers any holder of the institution role. The chain keeps no role history in
    // its views, so this is the role now (as decide() also uses).
    if (!(await chain.isInstitution(e.actor))) return mismatch(`consent ${c.id} is for any institution and ${e.actor} is not one`);
  } else if (c.grantee !== e.actor) {
    return mismatch(`consent ${c.id} is granted to ${c.grantee}, not ${e.actor}`);
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

  const decided = await chain.decide(e.patient, e.actor, e.categories, e.purposes, t);
  if (decided.decision === ChainDecision.Deny) {
    return { reason: "consent-denied", detail: `deny consent ${decided.consentId} overrides the permit at ${t}` };
  }
  if (decided.decision !== ChainDecision.Permit) {
    return mismatch(`the chain decides ${decided.decision === ChainDecision.NoConsent ? "no-consent" : decided.decision} at ${t}`);
  }
  return null;
}

const mismatch = (detail: string): Failure => ({ reason: "consent-mismatch", detail });
const notActive = (detail: string): Failure => ({ reason: "consent-not-active", detail });
