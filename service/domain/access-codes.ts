import type { DecisionOutcome } from "./vocabulary";

/** What was done (docs/access-trail.md). Numbers are part of the anchored format: never renumber them. */
export enum AccessAction {
  RecordRead = 1,
  RecordSearch = 2,
  RecordWrite = 3,
  ConsentDecision = 4,
  ConsentGrant = 5,
  ConsentRevoke = 6,
  PatientErase = 7,
}

/** How it was decided (docs/access-trail.md). Numbers are part of the anchored format: never renumber them. */
export enum AccessDecision {
  NoConsent = 0,
  Permit = 1,
  Deny = 2,
  Self = 3,
  BreakGlass = 4,
  Unavailable = 5,
  Rejected = 6,
  Recorded = 7,
}

export const ACTION_NAMES: Record<AccessAction, string> = {
  [AccessAction.RecordRead]: "record.read",
  [AccessAction.RecordSearch]: "record.search",
  [AccessAction.RecordWrite]: "record.write",
  [AccessAction.ConsentDecision]: "consent.decision",
  [AccessAction.ConsentGrant]: "consent.grant",
  [AccessAction.ConsentRevoke]: "consent.revoke",
  [AccessAction.PatientErase]: "patient.erase",
};

export const DECISION_NAMES: Record<AccessDecision, string> = {
  [AccessDecision.NoConsent]: "no-consent",
  [AccessDecision.Permit]: "permit",
  [AccessDecision.Deny]: "deny",
  [AccessDecision.Self]: "self",
  [AccessDecision.BreakGlass]: "break-glass",
  [AccessDecision.Unavailable]: "unavailable",
  [AccessDecision.Rejected]: "rejected",
  [AccessDecision.Recorded]: "recorded",
};

/** The decisions under which data was released. */
export const RELEASING_DECISIONS: ReadonlySet<AccessDecision> = new Set([AccessDecision.Permit, AccessDecision.Self, AccessDecision.BreakGlass]);

export const isReleasing = (decision: AccessDecision): boolean => RELEASING_DECISIONS.has(decision);

/** A consent decision's outcome as the access trail records it. */
export const DECISION_OF_OUTCOME: Record<DecisionOutcome, AccessDecision> = {
  permit: AccessDecision.Permit,
  deny: AccessDecision.Deny,
  "no-consent": AccessDecision.NoConsent,
};
