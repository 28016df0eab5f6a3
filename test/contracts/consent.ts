import { TypedDataEncoder, type Signer, type TypedDataDomain, type TypedDataField } from "ethers";

/** Mirrors of contracts/Common.sol and IConsentRegistry.sol for tests. */

export const CATEGORY_COUNT = 12;
export const ALL_CATEGORIES = (1n << BigInt(CATEGORY_COUNT)) - 1n;
export const PURPOSE_COUNT = 7;
export const ALL_PURPOSES = (1n << BigInt(PURPOSE_COUNT)) - 1n;

/** HL7 v3 PurposeOfUse bits. */
export const Purpose = {
  TREAT: 1n << 0n,
  ETREAT: 1n << 1n,
  HPAYMT: 1n << 2n,
  HOPERAT: 1n << 3n,
  HRESCH: 1n << 4n,
  PUBHLTH: 1n << 5n,
  PATRQT: 1n << 6n,
} as const;

/** The bitmask with the given bit indices set, e.g. `bits(0, 3)` = 0b1001. */
export function bits(...indices: number[]): bigint {
  return indices.reduce((mask, i) => mask | (1n << BigInt(i)), 0n);
}

export const Effect = { Permit: 0, Deny: 1 } as const;
export type Effect = (typeof Effect)[keyof typeof Effect];

export const Decision = { NoConsent: 0n, Permit: 1n, Deny: 2n } as const;

export interface ConsentTerms {
  patient: string;
  grantee: string;
  categories: bigint;
  purposes: bigint;
  effect: Effect;
  validFrom: bigint;
  validUntil: bigint;
}

export const DOMAIN_NAME = "Consentry ConsentRegistry";
export const DOMAIN_VERSION = "2";

export const GRANT_TYPES: Record<string, TypedDataField[]> = {
  Grant: [
    { name: "patient", type: "address" },
    { name: "grantee", type: "address" },
    { name: "categories", type: "uint256" },
    { name: "purposes", type: "uint256" },
    { name: "effect", type: "uint8" },
    { name: "validFrom", type: "uint64" },
    { name: "validUntil", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** A revocation carries no nonce: replaying it reverts as already revoked. */
export const REVOKE_TYPES: Record<string, TypedDataField[]> = {
  Revoke: [
    { name: "consentId", type: "bytes32" },
    { name: "deadline", type: "uint256" },
  ],
};

export const INCREASE_NONCE_TYPES: Record<string, TypedDataField[]> = {
  IncreaseNonce: [
    { name: "account", type: "address" },
    { name: "newNonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** The registry's EIP-712 domain. */
export function registryDomain(chainId: bigint, verifyingContract: string): TypedDataDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract };
}

type TypedDataSigner = Pick<Signer, "signTypedData">;

export function grantMessage(terms: ConsentTerms, nonce: bigint, deadline: bigint): Record<string, unknown> {
  return { ...terms, nonce, deadline };
}

export function revokeMessage(consentId: string, deadline: bigint): Record<string, unknown> {
  return { consentId, deadline };
}

export function increaseNonceMessage(account: string, newNonce: bigint, deadline: bigint): Record<string, unknown> {
  return { account, newNonce, deadline };
}

/** The patient's (or their wallet owner's) EIP-712 `Grant` signature. */
export function signGrant(
  signer: TypedDataSigner,
  domain: TypedDataDomain,
  terms: ConsentTerms,
  nonce: bigint,
  deadline: bigint,
): Promise<string> {
  return signer.signTypedData(domain, GRANT_TYPES, grantMessage(terms, nonce, deadline));
}

/** The patient's (or their wallet owner's) EIP-712 `Revoke` signature. */
export function signRevoke(
  signer: TypedDataSigner,
  domain: TypedDataDomain,
  consentId: string,
  deadline: bigint,
): Promise<string> {
  return signer.signTypedData(domain, REVOKE_TYPES, revokeMessage(consentId, deadline));
}

/** The account's (or its wallet owner's) EIP-712 `IncreaseNonce` signature. */
export function signIncreaseNonce(
  signer: TypedDataSigner,
  domain: TypedDataDomain,
  account: string,
  newNonce: bigint,
  deadline: bigint,
): Promise<string> {
  return signer.signTypedData(domain, INCREASE_NONCE_TYPES, increaseNonceMessage(account, newNonce, deadline));
}

/** The EIP-712 digest of a `Grant`, as the registry computes it. */
export function grantDigest(domain: TypedDataDomain, terms: ConsentTerms, nonce: bigint, deadline: bigint): string {
  return TypedDataEncoder.hash(domain, GRANT_TYPES, grantMessage(terms, nonce, deadline));
}

/** The EIP-712 digest of a `Revoke`, as the registry computes it. */
export function revokeDigest(domain: TypedDataDomain, consentId: string, deadline: bigint): string {
  return TypedDataEncoder.hash(domain, REVOKE_TYPES, revokeMessage(consentId, deadline));
}

/** The EIP-712 digest of an `IncreaseNonce`, as the registry computes it. */
export function increaseNonceDigest(domain: TypedDataDomain, account: string, newNonce: bigint, deadline: bigint): string {
  return TypedDataEncoder.hash(domain, INCREASE_NONCE_TYPES, increaseNonceMessage(account, newNonce, deadline));
}
