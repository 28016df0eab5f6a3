import type { TypedDataDomain } from "ethers";
import { EIP712_DOMAIN_TYPE, ENROLMENT_TYPES, GRANT_TYPES, REVOKE_TYPES } from "../domain/eip712";

/**
 * Ready-to-sign `eth_signTypedData_v4` payloads: the complete typed data a wallet takes (types including
 * EIP712Domain, primaryType, domain, message), with `{placeholders}` in the message for the values a client
 * fills in. Numbers may be given as decimal strings; addresses in any checksum.
 */
export function signingTemplates(domain: TypedDataDomain) {
  const payload = (primaryType: string, types: typeof GRANT_TYPES, message: Record<string, string>) => ({
    types: { ...EIP712_DOMAIN_TYPE, ...types },
    primaryType,
    domain,
    message,
  });
  return {
    grant: payload("Grant", GRANT_TYPES, {
      patient: "{patient: the patient's account}",
      grantee: "{grantee: an institution's account (GET /institutions), or 0x0000000000000000000000000000000000000000 for any institution}",
      categories: "{categories: bitmask of data categories (categories.codes[].mask, OR-ed)}",
      purposes: "{purposes: bitmask of purposes (purposes.codes[].mask, OR-ed)}",
      effect: "{effect: 0 permit, 1 deny}",
      validFrom: "{validFrom: unix seconds, 0 for now}",
      validUntil: "{validUntil: unix seconds, 0 for open-ended}",
      nonce: "{nonce: the patient's next consent nonce, from GET /patients/<patient>/nonce}",
      deadline: "{deadline: unix seconds after which the signature is void}",
    }),
    revoke: payload("Revoke", REVOKE_TYPES, {
      consentId: "{consentId: the consent's id (GET /consents)}",
      deadline: "{deadline: unix seconds after which the signature is void}",
    }),
    enrolment: payload("Enrolment", ENROLMENT_TYPES, {
      patient: "{patient: the patient's account}",
      custodian: "{custodian: the enrolling institution's account}",
      identifiersHash: "{identifiersHash: see notes.enrolment}",
      deadline: "{deadline: unix seconds after which the signature is void}",
    }),
  };
}

/** How a client turns a template into what it sends: `POST` bodies carry the message's values and the signature. */
export const SIGNING_NOTES = {
  usage:
    "Replace each {placeholder} in payloads.<kind>.message, then call eth_signTypedData_v4 with [account, JSON.stringify(payload)] (or MetaMask eth-sig-util signTypedData with version V4). Send the message's values with the signature: grant → POST /consents {terms, nonce, deadline, signature}; revoke → POST /consents/{consentId}/revoke {deadline, signature}; enrolment → the custodian's POST /patients/enrol {patient, identifiers, deadline, signature}.",
  enrolment: "identifiersHash = keccak256(utf8(JSON.stringify(identifiers as [system, value] pairs sorted by system, then value)))",
  consentId: "keccak256(abi.encode(patient, grantee, categories, purposes, effect, validFrom, validUntil, nonce))",
  nonce: "ConsentRegistry.nonces(patient), also GET /patients/<patient>/nonce: every grant consumes one; revocations consume none",
};
