import { getAddress, isAddress } from "ethers";

/** The fields of an EIP-4361 (Sign-In with Ethereum) message this service issues and accepts. */
export interface SiweFields {
  domain: string;
  address: string;
  statement: string;
  uri: string;
  version: "1";
  chainId: number;
  nonce: string;
  issuedAt: string;
  expirationTime: string;
}

export const SIWE_STATEMENT = "Sign in to Consentry. This request does not trigger a transaction or cost any fee.";

/** Renders the message exactly as EIP-4361 lays it out; wallets display it verbatim. */
export function formatSiweMessage(f: SiweFields): string {
  return [
    `${f.domain} wants you to sign in with your Ethereum account:`,
    f.address,
    "",
    f.statement,
    "",
    `URI: ${f.uri}`,
    `Version: ${f.version}`,
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt}`,
    `Expiration Time: ${f.expirationTime}`,
  ].join("\n");
}

const PATTERN = new RegExp(
  [
    "^(?<domain>[^\\s]+) wants you to sign in with your Ethereum account:",
    "(?<address>0x[0-9a-fA-F]{40})",
    "",
    "(?<statement>[^\\n]*)",
    "",
    "URI: (?<uri>[^\\s]+)",
    "Version: (?<version>1)",
    "Chain ID: (?<chainId>[0-9]+)",
    "Nonce: (?<nonce>[a-zA-Z0-9]{8,})",
    "Issued At: (?<issuedAt>[0-9T:.Z+-]+)",
    "Expiration Time: (?<expirationTime>[0-9T:.Z+-]+)$",
  ].join("\\n"),
);

/** Parses a message in the exact shape `formatSiweMessage` produces; anything else is rejected. */
export function parseSiweMessage(message: string): SiweFields | undefined {
  const groups = PATTERN.exec(message)?.groups;
  if (!groups || !isAddress(groups.address)) return undefined;
  const fields: SiweFields = {
    domain: groups.domain,
    address: getAddress(groups.address),
    statement: groups.statement,
    uri: groups.uri,
    version: "1",
    chainId: Number(groups.chainId),
    nonce: groups.nonce,
    issuedAt: groups.issuedAt,
    expirationTime: groups.expirationTime,
  };
  // Round-trip so that no variant spelling (extra fields, other whitespace) slips through.
  return formatSiweMessage(fields) === message ? fields : undefined;
}
