import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { ConsentModule } from "../consent/consent.module";
import { PatientsModule } from "../patients/patients.module";
import { RecordsModule } from "../records/records.module";
import { FhirRecordsController } from "./fhir-records.controller";
import { RecordAccessService } from "./record-access.service";

@Module({
  imports: [RecordsModule, ConsentModule, AuditModule, PatientsModule],
  controllers: [FhirRecordsController],
  providers: [RecordAccessService],
})
export class FhirModule {}
