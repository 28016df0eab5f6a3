import { Contract, ContractFactory, type JsonRpcSigner } from "ethers";
import { deployContracts, contractAt } from "../../scripts/lib/deploy-contracts";
import { loadArtifact } from "../../service/chain/artifacts";
import { inProcessChain, type InProcessChain } from "../support/chain";

/** Seconds a scheduled admin transfer waits in the contract tests. */
export const ADMIN_DELAY = 3 * 24 * 60 * 60;

/** Who holds which role in the contract tests. */
export interface Accounts {
  /** DEFAULT_ADMIN_ROLE of both contracts. */
  admin: JsonRpcSigner;
  /** REGISTRAR_ROLE: registers institutions and regulators. */
  registrar: JsonRpcSigner;
  relayer: JsonRpcSigner;
  anchorer: JsonRpcSigner;
  institutionA: JsonRpcSigner;
  institutionB: JsonRpcSigner;
  patient: JsonRpcSigner;
  otherPatient: JsonRpcSigner;
  /** Holds no role: neither relayer, anchorer, registrar nor institution. */
  stranger: JsonRpcSigner;
}

export interface ContractsFixture {
  chain: InProcessChain;
  chainId: bigint;
  accounts: Accounts;
  /** ConsentRegistry connected to the admin; use `.connect(signer)` to act as someone else. */
  registry: Contract;
  /** AccessLedger connected to the admin. */
  ledger: Contract;
}

/** Deploys both contracts on a fresh in-process chain with every role assigned. Call once per file. */
export async function deployFixture(): Promise<ContractsFixture> {
  const chain = await inProcessChain();
  const [admin, relayer, anchorer, institutionA, institutionB, patient, otherPatient, stranger, registrar] = chain.signers;
  const accounts = { admin, registrar, relayer, anchorer, institutionA, institutionB, patient, otherPatient, stranger };
  const { deployment } = await deployContracts(
    admin,
    "hardhat",
    {
      relayers: [relayer.address],
      anchorers: [anchorer.address],
      institutions: [institutionA.address, institutionB.address],
      registrars: [registrar.address],
    },
    undefined,
    { registrar, adminDelaySeconds: ADMIN_DELAY },
  );
  return {
    chain,
    chainId: (await chain.provider.getNetwork()).chainId,
    accounts,
    registry: contractAt(deployment, "ConsentRegistry", admin),
    ledger: contractAt(deployment, "AccessLedger", admin),
  };
}

/** Deploys a contract of contracts/test/ with `args`. */
export async function deployTestContract(deployer: JsonRpcSigner, name: string, ...args: unknown[]): Promise<Contract> {
  const artifact = loadArtifact(name, "contracts/test");
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, deployer);
  const contract = await factory.deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

/** Deploys the test ERC-1271 wallet (contracts/test/ERC1271Wallet.sol) owned by `owner`. */
export function deployErc1271Wallet(deployer: JsonRpcSigner, owner: string): Promise<Contract> {
  return deployTestContract(deployer, "ERC1271Wallet", owner);
}

/** HostileERC1271Wallet.Mode. */
export const HostileMode = {
  Revert: 0,
  RevertEmpty: 1,
  BurnGas: 2,
  ReturnNothing: 3,
  ReturnShort: 4,
  ReturnTrue: 5,
  ReturnDirtySelector: 6,
  ReturnBomb: 7,
  WriteState: 8,
} as const;
export type HostileMode = (typeof HostileMode)[keyof typeof HostileMode];

/** Deploys contracts/test/HostileERC1271Wallet.sol answering in `mode`. */
export function deployHostileWallet(deployer: JsonRpcSigner, mode: HostileMode): Promise<Contract> {
  return deployTestContract(deployer, "HostileERC1271Wallet", mode);
}
