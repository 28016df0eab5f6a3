import type { TypedDataDomain, TypedDataField } from "ethers";
/** The part of a deployment the signing domain names (a deployments/<network>.json has it). */
export interface RegistryDeployment {
  chainId: number;
  contracts: { ConsentRegistry: { address: string } };
}

/** EIP-712 domain of the ConsentRegistry: every patient signature is bound to this chain and contract. */
export function consentDomain(deployment: RegistryDeployment): TypedDataDomain {
  return {
    name: "Consentry ConsentRegistry",
    version: "2",
    chainId: deployment.chainId,
    verifyingContract: deployment.contracts.ConsentRegistry.address,
  };
}

/**
 * The domain's own type, as `eth_signTypedData_v4` wants it listed among the types (ethers derives it; a
 * wallet or MetaMask's eth-sig-util does not, and signs a different digest without it).
 */
export const EIP712_DOMAIN_TYPE: Record<string, TypedDataField[]> = {
  EIP712Domain: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
  ],
};

/** Must match the typehashes hard-coded in ConsentRegistry.sol. */
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

/** A revocation consumes no nonce (a replay is refused as already revoked), so no pending grant can block it. */
export const REVOKE_TYPES: Record<string, TypedDataField[]> = {
  Revoke: [
    { name: "consentId", type: "bytes32" },
    { name: "deadline", type: "uint256" },
  ],
};

/**
 * A patient's consent to be linked to a custodian institution's local identifiers. Checked by the
 * service only (identifiers never go on chain); `identifiersHash` binds the signature to them.
 */
export const ENROLMENT_TYPES: Record<string, TypedDataField[]> = {
  Enrolment: [
    { name: "patient", type: "address" },
    { name: "custodian", type: "address" },
    { name: "identifiersHash", type: "bytes32" },
    { name: "deadline", type: "uint256" },
  ],
};
