import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { AuthModule } from "../auth/auth.module";
import { PatientsModule } from "../patients/patients.module";
import { ProjectionModule } from "../projection/projection.module";
import { ConsentQueryService } from "./consent-query.service";
import { ConsentRelayService } from "./consent-relay.service";
import { ConsentsController } from "./consents.controller";
import { PatientNonceController } from "./patient-nonce.controller";
import { WellKnownController } from "./well-known.controller";

/** Patients' consents: relaying signed grants and revocations to the chain, and reading them back from the projection. */
@Module({
  imports: [ProjectionModule, AuthModule, AuditModule, PatientsModule],
  controllers: [ConsentsController, WellKnownController, PatientNonceController],
  providers: [ConsentRelayService, ConsentQueryService],
  exports: [ConsentQueryService],
})
export class ConsentsModule {}
