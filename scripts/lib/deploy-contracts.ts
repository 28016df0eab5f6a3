import { ContractFactory, getAddress, id, type Provider, type Signer, Contract } from "ethers";
import { abiHash, CONTRACT_NAMES, loadArtifact, type ContractName } from "../../service/chain/artifacts";
import type { Deployment } from "../../service/chain/deployment";
import { ROLES } from "../../service/domain/roles";

/** REGISTRAR_ROLE (contracts/Common.sol): administers INSTITUTION_ROLE and REGULATOR_ROLE on ConsentRegistry. */
export const REGISTRAR_ROLE = id("REGISTRAR_ROLE");

/** Two days: how long a scheduled admin transfer waits before the new admin can accept it. */
export const DEFAULT_ADMIN_DELAY_SECONDS = 2 * 24 * 60 * 60;

/** Which accounts get which role at deployment. */
export interface RoleAssignments {
  relayers?: string[];
  anchorers?: string[];
  institutions?: string[];
  regulators?: string[];
  /**
   * Holders of REGISTRAR_ROLE, who register institutions and regulators. Default: the deploying admin, which
   * suits development; in production name a separate registrar key (and pass its signer as `registrar`).
   */
  registrars?: string[];
}

export interface DeployOptions {
  /** Delay of a new deployment's admin transfers, in seconds (default {@link DEFAULT_ADMIN_DELAY_SECONDS}). */
  adminDelaySeconds?: number;
  /**
   * Registers institutions and regulators; must hold REGISTRAR_ROLE (default: the deploying admin, which then
   * needs to be among `registrars`, as it is by default).
   */
  registrar?: Signer;
  /**
   * An admin to hand both contracts to: a transfer to it is scheduled (beginDefaultAdminTransfer) once the
   * roles are granted; it accepts with acceptDefaultAdminTransfer after the delay.
   */
  newAdmin?: string;
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
  options: DeployOptions = {},
): Promise<DeployResult> {
  const provider = admin.provider as Provider;
  const adminAddress = await admin.getAddress();
  const chainId = Number((await provider.getNetwork()).chainId);
  const delay = options.adminDelaySeconds ?? DEFAULT_ADMIN_DELAY_SECONDS;

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
      const contract = await factory.deploy(delay, adminAddress);
      const receipt = await contract.deploymentTransaction()!.wait();
      deploymentBlock = Math.min(deploymentBlock, receipt!.blockNumber);
      contracts[name] = { address: await contract.getAddress(), abiHash: abiHash(artifact.abi) };
    }
    deployment = { network, chainId, deploymentBlock, deployedAt: new Date().toISOString(), contracts };
  }

  const registry = contractAt(deployment, "ConsentRegistry", admin);
  const ledger = contractAt(deployment, "AccessLedger", admin);
  await grantMissing(registry, ROLES.relayer, roles.relayers);
  // The deploying admin registers by default only on a fresh deployment: a reused one keeps its registrars.
  await grantMissing(registry, REGISTRAR_ROLE, roles.registrars ?? (reused ? [] : [adminAddress]));
  await grantMissing(ledger, ROLES.anchorer, roles.anchorers);

  const registrar = contractAt(deployment, "ConsentRegistry", options.registrar ?? admin);
  const wanted = (roles.institutions?.length ?? 0) + (roles.regulators?.length ?? 0);
  if (wanted > 0) {
    const registrarAddress = await (options.registrar ?? admin).getAddress();
    if (!(await registry.hasRole(REGISTRAR_ROLE, registrarAddress))) {
      throw new Error(`${registrarAddress} lacks REGISTRAR_ROLE: pass a registrar signer to register institutions and regulators`);
    }
  }
  await grantMissing(registrar, ROLES.institution, roles.institutions);
  await grantMissing(registrar, ROLES.regulator, roles.regulators);

  if (options.newAdmin !== undefined) {
    for (const contract of [registry, ledger]) await scheduleAdminTransfer(contract, getAddress(options.newAdmin));
  }
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

/** Schedules the transfer of DEFAULT_ADMIN_ROLE to `newAdmin` unless it is already the admin or the pending one. */
async function scheduleAdminTransfer(contract: Contract, newAdmin: string): Promise<void> {
  if ((await contract.defaultAdmin()) === newAdmin) return;
  const [pending] = (await contract.pendingDefaultAdmin()) as [string, bigint];
  if (pending === newAdmin) return;
  const tx = await contract.beginDefaultAdminTransfer(newAdmin);
  await tx.wait();
}
