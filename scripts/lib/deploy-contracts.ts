import { ContractFactory, getAddress, type Provider, type Signer, Contract } from "ethers";
import { abiHash, CONTRACT_NAMES, loadArtifact, type ContractName } from "../../service/chain/artifacts";
import type { Deployment } from "../../service/chain/deployment";
import { ROLES } from "../../service/domain/roles";

/** Which accounts get which role at deployment. */
export interface RoleAssignments {
  relayers?: string[];
  anchorers?: string[];
  institutions?: string[];
  regulators?: string[];
}

export interface DeployResult {
  deployment: Deployment;
  reused: boolean;
}

/**
 * Deploys ConsentRegistry and AccessLedger with `admin` as their admin, unless `existing` already
 * describes both on this chain with the same ABI, then grants the roles that are missing.
 */
export async function deployContracts(
  admin: Signer,
  network: string,
  roles: RoleAssignments = {},
  existing?: Deployment,
): Promise<DeployResult> {
  const provider = admin.provider as Provider;
  const adminAddress = await admin.getAddress();
  const chainId = Number((await provider.getNetwork()).chainId);

  let deployment: Deployment;
  const reused = existing !== undefined && (await isDeployedOn(provider, chainId, existing));
  if (reused) {
    deployment = existing!;
  } else {
    const contracts = {} as Deployment["contracts"];
    let deploymentBlock = Number.MAX_SAFE_INTEGER;
    for (const name of CONTRACT_NAMES) {
      const artifact = loadArtifact(name);
      const factory = new ContractFactory(artifact.abi, artifact.bytecode, admin);
      const contract = await factory.deploy(adminAddress);
      const receipt = await contract.deploymentTransaction()!.wait();
      deploymentBlock = Math.min(deploymentBlock, receipt!.blockNumber);
      contracts[name] = { address: await contract.getAddress(), abiHash: abiHash(artifact.abi) };
    }
    deployment = { network, chainId, deploymentBlock, deployedAt: new Date().toISOString(), contracts };
  }

  const registry = contractAt(deployment, "ConsentRegistry", admin);
  const ledger = contractAt(deployment, "AccessLedger", admin);
  await grantMissing(registry, ROLES.relayer, roles.relayers);
  await grantMissing(registry, ROLES.institution, roles.institutions);
  await grantMissing(registry, ROLES.regulator, roles.regulators);
  await grantMissing(ledger, ROLES.anchorer, roles.anchorers);
  return { deployment, reused };
}

export function contractAt(deployment: Deployment, name: ContractName, runner: Signer | Provider): Contract {
  return new Contract(deployment.contracts[name].address, loadArtifact(name).abi, runner);
}

async function isDeployedOn(provider: Provider, chainId: number, d: Deployment): Promise<boolean> {
  if (d.chainId !== chainId) return false;
  for (const name of CONTRACT_NAMES) {
    const entry = d.contracts[name];
    if (!entry || entry.abiHash !== abiHash(loadArtifact(name).abi)) return false;
    if ((await provider.getCode(entry.address)) === "0x") return false;
  }
  return true;
}

async function grantMissing(contract: Contract, role: string, accounts: string[] = []): Promise<void> {
  for (const account of accounts.map((a) => getAddress(a))) {
    if (await contract.hasRole(role, account)) continue;
    const tx = await contract.grantRole(role, account);
    await tx.wait();
  }
}
