import { Contract, ContractFactory, type JsonRpcSigner } from "ethers";
import { deployContracts, contractAt } from "../../scripts/lib/deploy-contracts";
import { loadArtifact } from "../../service/chain/artifacts";
import { inProcessChain, type InProcessChain } from "../support/chain";

/** Who holds which role in the contract tests. */
export interface Accounts {
  admin: JsonRpcSigner;
  relayer: JsonRpcSigner;
  anchorer: JsonRpcSigner;
  institutionA: JsonRpcSigner;
  institutionB: JsonRpcSigner;
  patient: JsonRpcSigner;
  otherPatient: JsonRpcSigner;
  /** Holds no role: neither relayer, anchorer nor institution. */
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
  const [admin, relayer, anchorer, institutionA, institutionB, patient, otherPatient, stranger] = chain.signers;
  const accounts = { admin, relayer, anchorer, institutionA, institutionB, patient, otherPatient, stranger };
  const { deployment } = await deployContracts(admin, "hardhat", {
    relayers: [relayer.address],
    anchorers: [anchorer.address],
    institutions: [institutionA.address, institutionB.address],
  });
  return {
    chain,
    chainId: (await chain.provider.getNetwork()).chainId,
    accounts,
    registry: contractAt(deployment, "ConsentRegistry", admin),
    ledger: contractAt(deployment, "AccessLedger", admin),
  };
}

/** Deploys the test ERC-1271 wallet (contracts/test/ERC1271Wallet.sol) owned by `owner`. */
export async function deployErc1271Wallet(deployer: JsonRpcSigner, owner: string): Promise<Contract> {
  const artifact = loadArtifact("ERC1271Wallet", "contracts/test");
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, deployer);
  const wallet = await factory.deploy(owner);
  await wallet.waitForDeployment();
  return wallet as Contract;
}
