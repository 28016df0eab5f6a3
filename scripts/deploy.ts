/**
 * Deploys ConsentRegistry and AccessLedger and writes deployments/<network>.json.
 *
 *   CHAIN_RPC_URL=http://127.0.0.1:8545 DEPLOYER_PRIVATE_KEY=0x… npm run deploy -- --network besu
 *
 * Roles come from comma-separated addresses in RELAYER_ADDRESSES, ANCHORER_ADDRESSES, REGISTRAR_ADDRESSES,
 * INSTITUTION_ADDRESSES and REGULATOR_ADDRESSES. Running it again reuses contracts that are already
 * on the chain and only grants missing roles. On a Hardhat dev chain (chainId 31337) the deployer
 * defaults to Hardhat's account #0.
 *
 * Governance (docs/contracts.md): the deployer becomes the admin of both contracts, with admin transfers
 * delayed by ADMIN_DELAY_SECONDS (default two days). Without REGISTRAR_ADDRESSES the deployer is also the
 * registrar; with them, institutions and regulators are registered with REGISTRAR_PRIVATE_KEY. ADMIN_ADDRESS
 * schedules the hand-over of both contracts to that admin (a multisig, say), which accepts after the delay.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Wallet } from "ethers";
import { createRpcProvider } from "../service/chain/rpc-provider";
import { readDeployment, type Deployment } from "../service/chain/deployment";
import { PROJECT_ROOT } from "../service/paths";
import { deployContracts, type RoleAssignments } from "./lib/deploy-contracts";
import { demoAccount } from "./lib/demo-accounts";

const HARDHAT_CHAIN_ID = 31337;

export function deploymentFile(network: string): string {
  return join(PROJECT_ROOT, "deployments", `${network}.json`);
}

export function writeDeployment(file: string, deployment: Deployment): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(deployment, null, 2) + "\n");
}

async function main(): Promise<void> {
  const network = argument("--network") ?? process.env.NETWORK ?? "localhost";
  const rpcUrl = argument("--rpc") ?? process.env.CHAIN_RPC_URL ?? "http://127.0.0.1:8545";
  const probe = createRpcProvider(rpcUrl, 0);
  const chainId = Number(await probe.send("eth_chainId", []));
  probe.destroy();
  const provider = createRpcProvider(rpcUrl, chainId);

  const key = process.env.DEPLOYER_PRIVATE_KEY ?? (chainId === HARDHAT_CHAIN_ID ? demoAccount("admin").privateKey : undefined);
  if (!key) throw new Error("DEPLOYER_PRIVATE_KEY is required on a chain other than Hardhat's (31337)");
  const admin = new Wallet(key, provider);

  const file = deploymentFile(network);
  const existing = existsSync(file) ? readDeployment(file) : undefined;
  const roles: RoleAssignments = {
    relayers: list("RELAYER_ADDRESSES"),
    anchorers: list("ANCHORER_ADDRESSES"),
    institutions: list("INSTITUTION_ADDRESSES"),
    regulators: list("REGULATOR_ADDRESSES"),
    registrars: process.env.REGISTRAR_ADDRESSES ? list("REGISTRAR_ADDRESSES") : undefined,
  };
  const registrarKey = process.env.REGISTRAR_PRIVATE_KEY;
  const { deployment, reused } = await deployContracts(admin, network, roles, existing, {
    adminDelaySeconds: process.env.ADMIN_DELAY_SECONDS ? Number(process.env.ADMIN_DELAY_SECONDS) : undefined,
    registrar: registrarKey ? new Wallet(registrarKey, provider) : undefined,
    newAdmin: process.env.ADMIN_ADDRESS || undefined,
  });
  writeDeployment(file, deployment);
  console.log(
    `${reused ? "Reused" : "Deployed"} on chain ${chainId}: ConsentRegistry ${deployment.contracts.ConsentRegistry.address}, ` +
      `AccessLedger ${deployment.contracts.AccessLedger.address} → ${file}`,
  );
  provider.destroy();
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function list(variable: string): string[] {
  return (process.env[variable] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`deploy: ${(error as Error).message.split("\n")[0]}`);
    process.exit(1);
  });
}
