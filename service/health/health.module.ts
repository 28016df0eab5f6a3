import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { ProjectionModule } from "../projection/projection.module";
import { HealthController } from "./health.controller";
import { HealthService } from "./health.service";

@Module({ imports: [ProjectionModule, AuditModule], controllers: [HealthController], providers: [HealthService] })
export class HealthModule {}
