import type { DecisionOutcome } from "../consent/vocabulary";
import { AccessDecision } from "./access-event";
import { Problem } from "../common/problem";

export const DECISION_OF_OUTCOME: Record<DecisionOutcome, AccessDecision> = {
  permit: AccessDecision.Permit,
  deny: AccessDecision.Deny,
  "no-consent": AccessDecision.NoConsent,
};

/** How a refused request is recorded: 503s as `unavailable`, everything else as `rejected`. */
export function decisionOfFailure(error: unknown): AccessDecision {
  return error instanceof Problem && error.statusCode === 503 ? AccessDecision.Unavailable : AccessDecision.Rejected;
}
