import { getAddress } from "ethers";

/** Addresses checksummed so far: a service sees few distinct accounts, and each EIP-55 checksum costs a keccak. */
const known = new Map<string, string>();
const KNOWN_MAX = 50_000;

/** The EIP-55 form of a valid address (memoised). Throws, as ethers does, for an invalid one. */
export function checksummed(address: string): string {
  const key = address.toLowerCase();
  let value = known.get(key);
  if (value === undefined) {
    value = getAddress(key);
    if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value!);
    known.set(key, value);
  }
  return value;
}
