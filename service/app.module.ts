import { type DynamicModule, Module } from "@nestjs/common";
import { AuditModule } from "./audit/audit.module";
import { AuthModule } from "./auth/auth.module";
import { ChainModule, type ChainModuleOptions } from "./chain/chain.module";
import type { AppConfig } from "./config/app-config";
import { ConfigModule } from "./config/config.module";
import { ConsentsModule } from "./consents/consents.module";
import { DatabaseModule } from "./database/database.module";
import { DecisionsModule } from "./decisions/decisions.module";
import { EnrolmentModule } from "./enrolment/enrolment.module";
import { ErasureModule } from "./erasure/erasure.module";
import { FhirModule } from "./fhir/fhir.module";
import { HealthModule } from "./health/health.module";
import { Hl7v2Module } from "./hl7v2/hl7v2.module";
import { InstitutionsModule } from "./institutions/institutions.module";
import { ProjectionModule } from "./projection/projection.module";

export type AppModuleOptions = ChainModuleOptions;

/** The whole service; docs/architecture.md draws its layers. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(config),
        ChainModule.forRoot(config, options),
        ProjectionModule,
        AuthModule,
        AuditModule,
        HealthModule,
        InstitutionsModule,
        EnrolmentModule,
        ConsentsModule,
        DecisionsModule,
        FhirModule,
        Hl7v2Module,
        ErasureModule,
      ],
    };
  }
}
