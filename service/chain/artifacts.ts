import { readFileSync } from "node:fs";
import { join } from "node:path";
import { keccak256, toUtf8Bytes, type InterfaceAbi } from "ethers";
import { PROJECT_ROOT } from "../paths";

export type ContractName = "ConsentRegistry" | "AccessLedger";
export const CONTRACT_NAMES: readonly ContractName[] = ["ConsentRegistry", "AccessLedger"];

export interface ContractArtifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

const cache = new Map<string, ContractArtifact>();

/** The compiled artifact Hardhat wrote for `name` (run `npm run compile` first). */
export function loadArtifact(name: string, sourceDir = "contracts"): ContractArtifact {
  const file = join(PROJECT_ROOT, "artifacts", sourceDir, `${name}.sol`, `${name}.json`);
  let artifact = cache.get(file);
  if (!artifact) {
    try {
      artifact = JSON.parse(readFileSync(file, "utf8")) as ContractArtifact;
    } catch {
      throw new Error(`Contract artifact ${file} is missing: run \`npm run compile\``);
    }
    cache.set(file, artifact);
  }
  return artifact;
}

/** A stable hash of a contract's ABI, recorded in deployment files so a mismatched build is caught at boot. */
export function abiHash(abi: InterfaceAbi): string {
  return keccak256(toUtf8Bytes(JSON.stringify(abi)));
}
