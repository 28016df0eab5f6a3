import "reflect-metadata";
import { type DynamicModule, Global, type INestApplicationContext, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Wallet } from "ethers";
import { DataSource } from "typeorm";
import { loadConfig, type AppConfig } from "../../service/config/app-config";
import { ConfigModule } from "../../service/config/config.module";
import { DatabaseModule } from "../../service/database/database.module";
import { ChainAccounts } from "../../service/domain/fhir-identity";
import type { PatientIdentifier } from "../../service/patients/enrolment.entity";
import { PatientRepository } from "../../service/patients/patient.repository";
import { RecordService } from "../../service/records/record.service";
import { RecordsModule } from "../../service/records/records.module";
import { testDatabase, type TestDatabase } from "../support/database";

export const CHAIN_ID = 31337;
export const MASTER_KEY = "22".repeat(32);

/** The chain as far as the records module's graph needs it: which did:pkh identifiers are this chain's. */
@Global()
@Module({
  providers: [{ provide: ChainAccounts, useValue: new ChainAccounts(CHAIN_ID) }],
  exports: [ChainAccounts],
})
class StubChainModule {}

@Module({})
class RecordsHarnessModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RecordsHarnessModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(config), StubChainModule, RecordsModule],
    };
  }
}

export interface RecordsHarness {
  app: INestApplicationContext;
  records: RecordService;
  patients: PatientRepository;
  dataSource: DataSource;
  /** Links `patient` to `custodian` with these identifiers, as a signed enrolment would (signature not checked here). */
  enrol(patient: string, custodian: string, identifiers?: PatientIdentifier[]): Promise<void>;
  close(): Promise<void>;
}

/** RecordsModule with the real DatabaseModule (TypeORM, migrations) on a database of its own. */
export async function recordsHarness(env: Record<string, string> = {}): Promise<RecordsHarness> {
  const database: TestDatabase = await testDatabase();
  const config = loadConfig({
    CHAIN_RPC_URL: "http://127.0.0.1:8545",
    DEPLOYMENT: "not-read-by-these-tests.json",
    MASTER_KEY,
    JWT_SECRET: "records-test-secret-records-test-secret",
    LOG_LEVEL: "error",
    ...database.settings,
    ...env,
  });
  const app = await NestFactory.createApplicationContext(RecordsHarnessModule.forRoot(config), { logger: ["error"], abortOnError: false });
  const patients = app.get(PatientRepository);
  return {
    app,
    records: app.get(RecordService),
    patients,
    dataSource: app.get(DataSource),
    async enrol(patient, custodian, identifiers = [{ system: "urn:test:mrn", value: Wallet.createRandom().address }]) {
      await patients.upsert({ patient, custodian, identifiers, identifiersHash: "0x", signature: "0xtest" });
    },
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

export const newAccount = (): string => Wallet.createRandom().address;
