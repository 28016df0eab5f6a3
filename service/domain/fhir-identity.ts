import { checksummed } from "./checksum";

/** FHIR identifier system for URIs; account identifiers use the did:pkh method (CAIP-10). */
export const URI_SYSTEM = "urn:ietf:rfc:3986";

export const accountDid = (chainId: number, address: string) => `did:pkh:eip155:${chainId}:${checksummed(address)}`;

export const accountIdentifier = (chainId: number, address: string) => ({ system: URI_SYSTEM, value: accountDid(chainId, address) });

/** Reads an account from a did:pkh URI on this chain or a bare address; anything else is undefined. */
export function accountFrom(value: string, chainId: number): string | undefined {
  // Case is not part of an account's identity; a wrong EIP-55 checksum is a typo, not a different account.
  if (/^0x[0-9a-fA-F]{40}$/.test(value)) return checksummed(value);
  const match = /^did:pkh:eip155:(\d{1,15}):(0x[0-9a-fA-F]{40})$/.exec(value);
  if (match && Number(match[1]) === chainId) return checksummed(match[2]);
  return undefined;
}

/**
 * The accounts of one chain as FHIR sees them. The chain module provides the instance for this
 * deployment, so features that read did:pkh identifiers need not know the deployment.
 */
export class ChainAccounts {
  constructor(readonly chainId: number) {}

  did(address: string): string {
    return accountDid(this.chainId, address);
  }

  identifier(address: string): { system: string; value: string } {
    return accountIdentifier(this.chainId, address);
  }

  /** The account a did:pkh on this chain or a bare address names; undefined for anything else. */
  from(value: string): string | undefined {
    return accountFrom(value, this.chainId);
  }
}
