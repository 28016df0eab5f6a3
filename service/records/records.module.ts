import { Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { PatientsModule } from "../patients/patients.module";
import { KeyRing } from "./crypto/key-ring";
import { PatientResolver } from "./patient-resolver";
import { RecordEntity, RecordKeyEntity, RecordVersionEntity } from "./record.entities";
import { RecordRepository } from "./record.repository";
import { RecordService } from "./record.service";

/**
 * The encrypted FHIR record store. No HTTP and no consent here: record-release adds consent checks and
 * access logging on top of RecordService. Needs AppConfig (MASTER_KEY), the database and ChainAccounts
 * (which did:pkh identifiers are this chain's).
 */
@Module({
  imports: [TypeOrmModule.forFeature([RecordKeyEntity, RecordEntity, RecordVersionEntity]), PatientsModule],
  providers: [RecordRepository, KeyRing, PatientResolver, RecordService],
  exports: [RecordService],
})
export class RecordsModule {}
