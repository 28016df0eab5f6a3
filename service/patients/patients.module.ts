import { Module } from "@nestjs/common";
import { PatientRepository } from "./patient.repository";
import { PatientService } from "./patient.service";
import { PatientsController } from "./patients.controller";

@Module({
  controllers: [PatientsController],
  providers: [PatientRepository, PatientService],
  exports: [PatientRepository],
})
export class PatientsModule {}
