import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { ConsentModule } from "../consent/consent.module";
import { HealthController } from "./health.controller";
import { HealthService } from "./health.service";

@Module({ imports: [ConsentModule, AuditModule], controllers: [HealthController], providers: [HealthService] })
export class HealthModule {}
