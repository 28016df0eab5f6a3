import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { PatientsModule } from "../patients/patients.module";
import { CdsHooksController } from "./cds-hooks.controller";
import { CdsHooksService } from "./cds-hooks.service";
import { ConsentDecisionsService } from "./consent-decisions.service";
import { ConsentIndexer } from "./consent-indexer";
import { ConsentProjectionRepository } from "./consent-projection.repository";
import { ConsentService } from "./consent.service";
import { ConsentsController } from "./consents.controller";
import { DecisionService } from "./decision.service";
import { DecisionsController } from "./decisions.controller";
import { FhirConsentController } from "./fhir-consent.controller";
import { WellKnownController } from "./well-known.controller";

@Module({
  imports: [PatientsModule, AuditModule],
  controllers: [ConsentsController, DecisionsController, CdsHooksController, FhirConsentController, WellKnownController],
  providers: [ConsentProjectionRepository, ConsentIndexer, ConsentService, DecisionService, ConsentDecisionsService, CdsHooksService],
  exports: [DecisionService, ConsentIndexer, ConsentProjectionRepository, ConsentService],
})
export class ConsentModule {}
