import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from "@nestjs/common";
import { computeAddress, type JsonRpcApiProvider } from "ethers";
import { DataSource } from "typeorm";
import { unavailable } from "../../common/problem";
import { AppConfig } from "../../config/app-config";
import { LockService } from "../../database/advisory-lock";
import { CHAIN_PROVIDER } from "../chain.tokens";
import { ChainTransactionRepository } from "./chain-transaction.repository";
import { TransactionManager } from "./transaction-manager";

/** The service's own keys that send transactions, by what they are for. */
export type SignerRole = "relayer" | "anchorer" | "registrar";

const KEY_SETTING = {
  relayer: "RELAYER_PRIVATE_KEY",
  anchorer: "ANCHORER_PRIVATE_KEY",
  registrar: "REGISTRAR_PRIVATE_KEY",
} as const satisfies Record<SignerRole, keyof AppConfig>;

/** One TransactionManager per configured signer key, created on first use. */
@Injectable()
export class TransactionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly managers = new Map<SignerRole, TransactionManager>();

  constructor(
    @Inject(CHAIN_PROVIDER) private readonly provider: JsonRpcApiProvider,
    private readonly dataSource: DataSource,
    private readonly locks: LockService,
    private readonly config: AppConfig,
  ) {}

  /** The manager for `role`'s key; a Problem (503 signer-not-configured) when the key is not set. */
  forSigner(role: SignerRole): TransactionManager {
    let manager = this.managers.get(role);
    if (!manager) {
      const privateKey = this.config[KEY_SETTING[role]];
      if (!privateKey) {
        throw unavailable("signer-not-configured", `No ${role} key is configured (${KEY_SETTING[role]})`, { signer: role });
      }
      manager = new TransactionManager({
        provider: this.provider,
        dataSource: this.dataSource,
        locks: this.locks,
        privateKey,
        confirmations: this.config.CHAIN_CONFIRMATIONS,
      });
      manager.start();
      this.managers.set(role, manager);
    }
    return manager;
  }

  /** How many of the service's chain transactions are in each state (for the metrics). */
  countsByState(): Promise<Array<{ state: string; count: number }>> {
    return new ChainTransactionRepository(this.dataSource).countByState();
  }

  /** Resumes signers that left requests unsent or unconfirmed, without waiting for their first use. */
  async onApplicationBootstrap(): Promise<void> {
    const repository = new ChainTransactionRepository(this.dataSource);
    for (const role of Object.keys(KEY_SETTING) as SignerRole[]) {
      const key = this.config[KEY_SETTING[role]];
      if (key && (await repository.hasUnfinished(computeAddress(key)))) this.forSigner(role);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.managers.values()].map((manager) => manager.stop()));
    this.managers.clear();
  }
}
