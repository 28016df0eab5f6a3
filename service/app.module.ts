import { type DynamicModule, Module } from "@nestjs/common";
import { AuditModule } from "./audit/audit.module";
import { AuthModule } from "./auth/auth.module";
import { ChainModule, type ChainModuleOptions } from "./chain/chain.module";
import type { AppConfig } from "./config/app-config";
import { ConfigModule } from "./config/config.module";
import { DatabaseModule } from "./database/database.module";
import { ConsentModule } from "./consent/consent.module";
import { ErasureModule } from "./erasure/erasure.module";
import { FhirModule } from "./fhir/fhir.module";
import { HealthModule } from "./health/health.module";
import { PatientsModule } from "./patients/patients.module";

export type AppModuleOptions = ChainModuleOptions;

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(config),
        ChainModule.forRoot(config, options),
        HealthModule,
        AuthModule,
        PatientsModule,
        ConsentModule,
        AuditModule,
        FhirModule,
        ErasureModule,
      ],
    };
  }
}
