import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { AuthModule } from "../auth/auth.module";
import { PatientsModule } from "../patients/patients.module";
import { RecordsModule } from "../records/records.module";
import { ErasureController } from "./erasure.controller";
import { ErasureService } from "./erasure.service";

@Module({ imports: [AuthModule, RecordsModule, PatientsModule, AuditModule], controllers: [ErasureController], providers: [ErasureService] })
export class ErasureModule {}
