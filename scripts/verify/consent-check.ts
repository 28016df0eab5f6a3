import { ChainDecision, NOT_YET, type ChainDecisionResult, type ChainReader, type OnChainConsent, type Peeked } from "./chain-reader";
import type { Failure } from "./failures";
import { Decision, ZERO_ADDRESS, ZERO_HASH, type LeafFields } from "./trail-format";

const PERMIT_EFFECT = 0; // ConsentRegistry.Effect.Permit

/** Whether an event's decision is checked against the chain: permits and denies about a patient. */
export function isCheckedOnChain(e: ConsentQuestion): boolean {
  return e.patient !== ZERO_ADDRESS && (e.decision === Decision.Permit || e.decision === Decision.Deny);
}

/**
 * Does the chain back a consent decision recorded in the trail? Permits and denies are checked; other
 * decisions name no consent. An event without a patient has no consent to check. Consent is always about
 * the `requester` (docs/access-trail.md): for a consult, the institution that would receive the data, not
 * the custodian asking. Returns null when the chain agrees (or there is nothing to check).
 *
 * The verdict comes at once when every chain answer it needs is cached (most events of a trail ask what
 * earlier ones asked), otherwise as a promise; it is the same verdict either way: one rule, evaluated
 * over the answers at hand, and evaluated again each time a missing answer arrives.
 */
export function checkDecision(chain: ChainReader, e: ConsentQuestion): Failure | null | Promise<Failure | null> {
  if (!isCheckedOnChain(e)) return null;
  const rule = e.decision === Decision.Permit ? permitRule : denyRule;
  const verdict = rule(chain, e);
  // What waits on the chain keeps only the question, not the event's line and proof.
  return verdict === NOT_YET ? whenAnswered(chain, questionOf(e), rule, chain.takeMissed(), 0) : verdict;
}

/**
 * Waits for the answer the rule stopped at, which the cache then holds, and evaluates the rule again: a
 * round per answer (consent, membership, decision). Waiting costs a closure and a promise, so thousands
 * of checks can wait at once while the export is read on. An answer the cache cannot hold (not final),
 * or more rounds than a rule has, hands the check to askingTheChain, which keeps answers of its own.
 */
function whenAnswered(chain: ChainReader, e: ConsentQuestion, rule: Rule, missed: (() => Promise<unknown>) | null, round: number): Promise<Failure | null> {
  if (!missed || round > 3) return askingTheChain(chain, e, rule);
  return missed().then(() => {
    const verdict = rule(chain, e);
    return verdict === NOT_YET ? whenAnswered(chain, e, rule, chain.takeMissed(), round + 1) : verdict;
  });
}

/** What a consent check reads of an event. */
export type ConsentQuestion = Pick<LeafFields, "patient" | "requester" | "decision" | "consentId" | "time" | "categories" | "purposes">;

const questionOf = (e: ConsentQuestion): ConsentQuestion => ({
  patient: e.patient,
  requester: e.requester,
  decision: e.decision,
  consentId: e.consentId,
  time: e.time,
  categories: e.categories,
  purposes: e.purposes,
});

/** The chain's answers a rule reads, each NOT_YET until it has come: ChainReader's cache, or one check's own. */
type Answers = Pick<ChainReader, "peekConsent" | "peekIsInstitutionAt" | "peekDecide">;

type Rule = (answers: Answers, e: ConsentQuestion) => Peeked<Failure | null>;

/**
 * Evaluates `rule`; whenever it stops at an answer not yet at hand, asks the chain for exactly that one
 * (as ChainReader's async methods ask: cached, batched, read again when not final) and evaluates again.
 * The chain is asked only what the rule reaches, in the rule's order.
 */
async function askingTheChain(chain: ChainReader, e: ConsentQuestion, rule: Rule): Promise<Failure | null> {
  // A rule asks at most one consent, one membership and one decision: one slot each for this check's answers.
  let consent: { id: string; value: OnChainConsent | null } | null = null;
  let member: { key: string; value: boolean } | null = null;
  let decision: { key: string; value: ChainDecisionResult } | null = null;
  let missing: (() => Promise<void>) | null = null;
  const answers: Answers = {
    peekConsent(id) {
      if (consent?.id === id) return consent.value;
      const peeked = chain.peekConsent(id);
      if (peeked === NOT_YET) missing = async () => void (consent = { id, value: await chain.getConsent(id) });
      return peeked;
    },
    peekIsInstitutionAt(account, at) {
      const key = `${account}|${at}`;
      if (member?.key === key) return member.value;
      const peeked = chain.peekIsInstitutionAt(account, at);
      if (peeked === NOT_YET) missing = async () => void (member = { key, value: await chain.isInstitutionAt(account, at) });
      return peeked;
    },
    peekDecide(p, r, c, u, at) {
      const key = `${p}|${r}|${c}|${u}|${at}`;
      if (decision?.key === key) return decision.value;
      const peeked = chain.peekDecide(p, r, c, u, at);
      if (peeked === NOT_YET) missing = async () => void (decision = { key, value: await chain.decide(p, r, c, u, at) });
      return peeked;
    },
  };
  for (;;) {
    missing = null;
    const verdict = rule(answers, e);
    if (verdict !== NOT_YET) return verdict;
    if (!missing) throw new Error("a consent rule is waiting on no answer");
    await (missing as () => Promise<void>)();
  }
}

/**
 * The permit rule, over answers that may not have come yet: was a released access (decision permit) covered
 * by its consent at the moment of access? Two independent questions, both answered by the chain: does the
 * named consent itself cover the access (patient, grantee, categories, purposes, effect, active at t), and
 * does the chain's own decision for that moment agree — a matching deny consent overrides any permit
 * (docs/architecture.md §4).
 */
function permitRule(chain: Answers, e: ConsentQuestion): Peeked<Failure | null> {
  const t = chainSeconds(e.time);
  if (e.consentId === ZERO_HASH) return { reason: "consent-missing", detail: "permit without a consentId" };

  const c = chain.peekConsent(e.consentId);
  if (c === NOT_YET) return NOT_YET;
  if (!c) return { reason: "consent-missing", detail: `consent ${e.consentId} does not exist on chain` };

  if (c.patient !== e.patient) return mismatch(`consent ${c.id} belongs to patient ${c.patient}, not ${e.patient}`);
  if (c.effect !== PERMIT_EFFECT) return mismatch(`consent ${c.id} is a deny consent`);
  if (c.grantee !== ZERO_ADDRESS && c.grantee !== e.requester) {
    return mismatch(`consent ${c.id} is granted to ${c.grantee}, not to the requester ${e.requester}`);
  }
  // A permit, specific or for any institution, counts only for a requester that was an institution at the
  // instant of access (ConsentRegistry v2 keeps the membership history, so this is exact for any past t).
  const member = chain.peekIsInstitutionAt(e.requester, t);
  if (member === NOT_YET) return NOT_YET;
  if (!member) {
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

  const decided = chain.peekDecide(e.patient, e.requester, e.categories, e.purposes, t);
  if (decided === NOT_YET) return NOT_YET;
  if (decided.decision === ChainDecision.Deny) {
    return { reason: "consent-denied", detail: `deny consent ${decided.consentId} overrides the permit at ${t}` };
  }
  if (decided.decision !== ChainDecision.Permit) return mismatch(`the chain decides ${describe(decided)} at ${t}`);
  return null;
}

/** The deny rule: was a refusal under a deny consent (decision deny) the chain's own decision at that moment, under that consent? */
function denyRule(chain: Answers, e: ConsentQuestion): Peeked<Failure | null> {
  const t = chainSeconds(e.time);
  // decide() refuses an empty question rather than answering deny; no call needed to know that.
  if (e.categories === 0n || e.purposes === 0n) return denyMismatch("a deny must name at least one category and one purpose");
  const decided = chain.peekDecide(e.patient, e.requester, e.categories, e.purposes, t);
  if (decided === NOT_YET) return NOT_YET;
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
