import { badRequest, conflict, notFound, Problem, unavailable } from "../common/problem";

/** The contract's custom errors as API problems: the same slugs the service's own checks use. */
const REVERT_PROBLEMS: Record<string, () => Problem> = {
  InvalidAccountNonce: () => conflict("nonce-used", "Nonce already used", "The patient's nonce has moved on"),
  SignatureExpired: () => badRequest("signature-expired", "Signature expired"),
  InvalidSignature: () => badRequest("invalid-signature", "Invalid signature"),
  ConsentNotFound: () => notFound("consent-not-found"),
  ConsentAlreadyRevoked: () => conflict("consent-already-revoked", "Consent already revoked"),
  NotConsentPatient: () => badRequest("not-consent-patient", "Not the consent's patient"),
  GranteeNotInstitution: () => badRequest("grantee-not-institution", "Grantee is not an institution"),
  InvalidCategories: () => badRequest("invalid-categories", "Unknown or empty data categories"),
  InvalidPurposes: () => badRequest("invalid-purposes", "Unknown or empty purposes"),
  InvalidValidity: () => badRequest("invalid-validity", "Empty validity window"),
  ConsentAlreadyExists: () => conflict("consent-exists", "Consent already exists"),
  AccessControlUnauthorizedAccount: () => unavailable("relayer-not-authorized", "The service's relayer lacks its on-chain role"),
};

/** Maps a failed relay to a problem: reverts to 4xx, an unreachable chain to 503; anything else stays unexpected. */
export function problemFromRelayFailure(error: unknown): unknown {
  if (error instanceof Problem) return error;
  const e = error as { name?: string; errorName?: string; retryable?: boolean };
  if (e?.name === "TransactionRevertedError") {
    return (e.errorName && REVERT_PROBLEMS[e.errorName]?.()) ?? badRequest("transaction-reverted", "The chain rejected the transaction", e.errorName);
  }
  if (e?.name === "ChainUnavailableError" || e?.name === "TransactionTimeoutError") {
    return unavailable("chain-unavailable", "The chain could not be reached; the transaction will be retried");
  }
  return error;
}
