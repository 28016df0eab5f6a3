import { Module } from "@nestjs/common";
import { ConsentModule } from "../consent/consent.module";
import { HealthController } from "./health.controller";
import { HealthService } from "./health.service";

@Module({ imports: [ConsentModule], controllers: [HealthController], providers: [HealthService] })
export class HealthModule {}
