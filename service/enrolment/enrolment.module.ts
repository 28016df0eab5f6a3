import { Module } from "@nestjs/common";
import { AuthModule } from "../auth/auth.module";
import { PatientsModule } from "../patients/patients.module";
import { RecordsModule } from "../records/records.module";
import { EnrolmentController } from "./enrolment.controller";
import { EnrolmentService } from "./enrolment.service";

/** `POST /patients/enrol`: a custodian links a patient account to its identifiers, with the patient's signature. */
@Module({
  imports: [AuthModule, PatientsModule, RecordsModule],
  controllers: [EnrolmentController],
  providers: [EnrolmentService],
})
export class EnrolmentModule {}
