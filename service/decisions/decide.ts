import { ZeroAddress } from "ethers";
import { ConsentEffect, type DecisionOutcome } from "../domain/vocabulary";

/** The fields of a consent the decision reads; a projection row has them all. */
export interface DecidableConsent {
  consentId: string;
  grantee: string;
  categories: number;
  purposes: number;
  effect: number;
  validFrom: number;
  validUntil: number;
  grantedAt: number;
  revokedAt: number | null;
}

export interface DecisionQuestion {
  requester: string;
  /** Whether the requester held the institution role at `at`: permits count only for institutions. */
  requesterWasInstitution: boolean;
  categories: number;
  purposes: number;
  /** Unix seconds. */
  at: number;
}

export interface ConsentDecision {
  outcome: DecisionOutcome;
  consentId: string | null;
}

export function isActiveAt(c: DecidableConsent, at: number): boolean {
  return (
    c.grantedAt <= at &&
    (c.revokedAt === null || c.revokedAt === 0 || at < c.revokedAt) &&
    c.validFrom <= at &&
    (c.validUntil === 0 || at < c.validUntil)
  );
}

/**
 * The same rule as ConsentRegistry.decide (v2), over the consents granted to the requester or to any
 * institution, in grant order: an active Deny overlapping the categories and purposes decides Deny,
 * whatever roles the requester holds or held; else, if the requester was an institution at that instant,
 * the earliest active Permit covering all of them decides Permit; else no consent. Roles are taken at the
 * instant decided, so re-deciding the past gives the same answer whatever happened to roles since.
 * Property tests check the two agree.
 */
export function decide(consents: readonly DecidableConsent[], q: DecisionQuestion): ConsentDecision {
  const requester = q.requester.toLowerCase();
  let permit: string | null = null;
  for (const c of consents) {
    if (!isActiveAt(c, q.at)) continue;
    const grantee = c.grantee.toLowerCase();
    if (grantee !== requester && grantee !== ZeroAddress) continue;
    if (c.effect === ConsentEffect.Deny) {
      if ((q.categories & c.categories) !== 0 && (q.purposes & c.purposes) !== 0) {
        return { outcome: "deny", consentId: c.consentId };
      }
    } else if (permit === null && q.requesterWasInstitution && (q.categories & ~c.categories) === 0 && (q.purposes & ~c.purposes) === 0) {
      permit = c.consentId;
    }
  }
  return permit === null ? { outcome: "no-consent", consentId: null } : { outcome: "permit", consentId: permit };
}
