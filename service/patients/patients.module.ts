import { Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { EnrolmentEntity } from "./enrolment.entity";
import { IdentifierKeys } from "./identifier-keys";
import { PatientRepository } from "./patient.repository";

/** Who the patients are: their accounts' links to custodians' local identifiers (never on chain). */
@Module({
  imports: [TypeOrmModule.forFeature([EnrolmentEntity])],
  providers: [PatientRepository, IdentifierKeys],
  exports: [PatientRepository],
})
export class PatientsModule {}
