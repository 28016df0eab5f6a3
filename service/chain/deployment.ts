import { readFileSync } from "node:fs";
import type { ContractName } from "./artifacts";

/** What `scripts/deploy.ts` writes to deployments/<network>.json. */
export interface Deployment {
  network: string;
  chainId: number;
  deploymentBlock: number;
  deployedAt: string;
  contracts: Record<ContractName, { address: string; abiHash: string }>;
}

export function readDeployment(file: string): Deployment {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`Cannot read deployment file ${file}: ${(error as Error).message}`);
  }
  const d = parsed as Deployment;
  if (
    typeof d?.chainId !== "number" ||
    typeof d.deploymentBlock !== "number" ||
    !d.contracts?.ConsentRegistry?.address ||
    !d.contracts?.AccessLedger?.address
  ) {
    throw new Error(`Deployment file ${file} lacks chainId, deploymentBlock or contract addresses`);
  }
  return d;
}
