import { type DynamicModule, Global, Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import type { JsonRpcApiProvider } from "ethers";
import type { AppConfig } from "../config/app-config";
import { ChainService } from "./chain.service";
import { SignatureVerifier } from "./signature-verifier";
import { createRpcProvider } from "./rpc-provider";
import { readDeployment, type Deployment } from "./deployment";
import { CHAIN_PROVIDER, DEPLOYMENT } from "./chain.tokens";
import { LockService } from "../database/advisory-lock";
import { ChainAccounts } from "../domain/fhir-identity";
import { ChainTransactionEntity } from "./transactions/chain-transaction.entity";
import { TransactionService } from "./transactions/transaction.service";

export interface ChainModuleOptions {
  /** A provider to use instead of CHAIN_RPC_URL (tests pass Hardhat's in-process network). */
  provider?: JsonRpcApiProvider;
}

@Global()
@Module({})
export class ChainModule {
  static forRoot(config: AppConfig, options: ChainModuleOptions = {}): DynamicModule {
    return {
      module: ChainModule,
      imports: [TypeOrmModule.forFeature([ChainTransactionEntity])],
      providers: [
        { provide: DEPLOYMENT, useFactory: (): Deployment => readDeployment(config.DEPLOYMENT) },
        {
          provide: CHAIN_PROVIDER,
          useFactory: (deployment: Deployment) =>
            options.provider ?? createRpcProvider(config.CHAIN_RPC_URL, deployment.chainId),
          inject: [DEPLOYMENT],
        },
        { provide: ChainAccounts, useFactory: (deployment: Deployment) => new ChainAccounts(deployment.chainId), inject: [DEPLOYMENT] },
        ChainService,
        SignatureVerifier,
        LockService,
        TransactionService,
      ],
      exports: [ChainAccounts, ChainService, SignatureVerifier, LockService, TransactionService, CHAIN_PROVIDER, DEPLOYMENT],
    };
  }
}
