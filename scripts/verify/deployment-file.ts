import { readFileSync } from "node:fs";

/** The parts of deployments/<network>.json the verifier needs. */
export interface DeploymentInfo {
  chainId: number;
  accessLedger: string;
  consentRegistry: string;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Reads a deployment file; addresses are returned in lower case. Throws with a readable message. */
export function readDeploymentFile(file: string): DeploymentInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`cannot read deployment file ${file}: ${(error as Error).message}`);
  }
  const d = parsed as { chainId?: unknown; contracts?: Record<string, { address?: unknown } | undefined> };
  const ledger = d?.contracts?.AccessLedger?.address;
  const registry = d?.contracts?.ConsentRegistry?.address;
  if (typeof d?.chainId !== "number" || typeof ledger !== "string" || typeof registry !== "string" || !ADDRESS.test(ledger) || !ADDRESS.test(registry)) {
    throw new Error(`deployment file ${file} lacks chainId or the AccessLedger and ConsentRegistry addresses`);
  }
  return { chainId: d.chainId, accessLedger: ledger.toLowerCase(), consentRegistry: registry.toLowerCase() };
}
