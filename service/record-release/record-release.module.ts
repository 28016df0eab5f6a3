import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { AuthModule } from "../auth/auth.module";
import { DecisionsModule } from "../decisions/decisions.module";
import { PatientsModule } from "../patients/patients.module";
import { RecordsModule } from "../records/records.module";
import { RecordReleaseService } from "./record-release.service";

/** The encrypted record store behind consent decisions and the access log. */
@Module({
  imports: [RecordsModule, DecisionsModule, AuditModule, AuthModule, PatientsModule],
  providers: [RecordReleaseService],
  exports: [RecordReleaseService],
})
export class RecordReleaseModule {}
