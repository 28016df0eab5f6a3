import { Module } from "@nestjs/common";
import { PatientsModule } from "../patients/patients.module";
import { KeyRing } from "./crypto/key-ring";
import { PatientResolver } from "./patient-resolver";
import { RecordRepository } from "./record.repository";
import { RecordService } from "./record.service";

/**
 * The encrypted FHIR record store. No HTTP here: the FHIR layer adds consent checks and access
 * logging on top of RecordService. Needs AppConfig (MASTER_KEY), the database and DEPLOYMENT (chainId).
 */
@Module({
  imports: [PatientsModule],
  providers: [RecordRepository, KeyRing, PatientResolver, RecordService],
  exports: [RecordService],
})
export class RecordsModule {}
