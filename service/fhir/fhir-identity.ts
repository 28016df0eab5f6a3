import { getAddress, isAddress } from "ethers";

/** FHIR identifier system for URIs; account identifiers use the did:pkh method (CAIP-10). */
export const URI_SYSTEM = "urn:ietf:rfc:3986";

export const accountDid = (chainId: number, address: string) => `did:pkh:eip155:${chainId}:${getAddress(address)}`;

export const accountIdentifier = (chainId: number, address: string) => ({ system: URI_SYSTEM, value: accountDid(chainId, address) });

/** Reads an account from a did:pkh URI on this chain or a bare address; anything else is undefined. */
export function accountFrom(value: string, chainId: number): string | undefined {
  if (isAddress(value)) return getAddress(value);
  const match = /^did:pkh:eip155:(\d+):(0x[0-9a-fA-F]{40})$/.exec(value);
  if (match && Number(match[1]) === chainId) return getAddress(match[2]);
  return undefined;
}
