import { Inject, Injectable, Logger, type OnModuleInit } from "@nestjs/common";
import { Contract, type JsonRpcApiProvider } from "ethers";
import { ServiceMetaRepository } from "../database/service-meta.repository";
import { abiHash, CONTRACT_NAMES, loadArtifact } from "./artifacts";
import type { Deployment } from "./deployment";
import { ROLES, type RoleName } from "../domain/roles";
import { unavailable } from "../common/problem";
import { CHAIN_PROVIDER, DEPLOYMENT } from "./chain.tokens";


/** A start-up check failed; the message is one line an operator can act on. */
export class BootError extends Error {
  override name = "BootError";
}

export interface ChainHead {
  number: number;
  hash: string;
  timestamp: number;
}

/** Read access to the chain and the deployed contracts, verified at boot. */
@Injectable()
export class ChainService implements OnModuleInit {
  private readonly logger = new Logger(ChainService.name);
  readonly registry: Contract;
  readonly ledger: Contract;

  constructor(
    @Inject(CHAIN_PROVIDER) readonly provider: JsonRpcApiProvider,
    @Inject(DEPLOYMENT) readonly deployment: Deployment,
    private readonly meta: ServiceMetaRepository,
  ) {
    this.registry = new Contract(deployment.contracts.ConsentRegistry.address, loadArtifact("ConsentRegistry").abi, provider);
    this.ledger = new Contract(deployment.contracts.AccessLedger.address, loadArtifact("AccessLedger").abi, provider);
  }

  async onModuleInit(): Promise<void> {
    await this.assertDeployment();
    await this.assertDatabaseBelongsToDeployment();
    this.logger.log({ message: "Chain verified", chainId: this.deployment.chainId, network: this.deployment.network });
  }

  async head(): Promise<ChainHead> {
    const block = await this.provider.getBlock("latest");
    if (!block) throw new Error("The chain returned no latest block");
    return { number: block.number, hash: block.hash!, timestamp: block.timestamp };
  }

  /** Whether `account` holds `role` on the ConsentRegistry right now (read from chain, not a cache). */
  async hasRole(role: RoleName, account: string): Promise<boolean> {
    return this.read(() => this.registry.hasRole(ROLES[role], account) as Promise<boolean>);
  }

  /** A patient's next signature nonce on the ConsentRegistry. */
  async nonceOf(account: string): Promise<bigint> {
    return this.read(() => this.registry.nonces(account) as Promise<bigint>);
  }

  /** A chain read the request depends on: if the chain cannot answer, the request cannot either (503). */
  async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw unavailable("chain-unavailable", "The chain could not be reached; try again shortly", {
        cause: (error as { code?: string }).code ?? "unreachable",
      });
    }
  }

  private async assertDeployment(): Promise<void> {
    const { chainId } = this.deployment;
    let actualChainId: number;
    try {
      actualChainId = Number(await this.provider.send("eth_chainId", []));
    } catch (error) {
      throw new BootError(`Cannot reach the chain: ${(error as Error).message.split("\n")[0]}`);
    }
    if (actualChainId !== chainId) {
      throw new BootError(`The chain has chainId ${actualChainId} but the deployment file is for chainId ${chainId}`);
    }
    for (const name of CONTRACT_NAMES) {
      const { address, abiHash: recorded } = this.deployment.contracts[name];
      if ((await this.provider.getCode(address)) === "0x") {
        throw new BootError(`No ${name} contract at ${address} on chain ${chainId}: deploy it with \`npm run deploy\``);
      }
      if (recorded && recorded !== abiHash(loadArtifact(name).abi)) {
        throw new BootError(`${name} at ${address} was deployed from a different ABI than this build's`);
      }
    }
  }

  /** A database holds one deployment's projection and trail; mixing two would corrupt both. */
  private async assertDatabaseBelongsToDeployment(): Promise<void> {
    const block = await this.provider.getBlock(this.deployment.deploymentBlock);
    const identity = [
      this.deployment.chainId,
      this.deployment.contracts.ConsentRegistry.address.toLowerCase(),
      this.deployment.contracts.AccessLedger.address.toLowerCase(),
      block?.hash ?? "",
    ].join(":");
    const stored = await this.meta.setOnce("deployment", identity);
    if (stored !== identity) {
      throw new BootError(`The database belongs to another deployment (${stored}); this one is ${identity}`);
    }
  }
}
