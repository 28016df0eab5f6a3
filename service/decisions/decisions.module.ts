import { Module } from "@nestjs/common";
import { AuditModule } from "../audit/audit.module";
import { AuthModule } from "../auth/auth.module";
import { PatientsModule } from "../patients/patients.module";
import { ProjectionModule } from "../projection/projection.module";
import { CdsHooksController } from "./cds-hooks.controller";
import { CdsHooksService } from "./cds-hooks.service";
import { ConsentDecisionsService } from "./consent-decisions.service";
import { DecisionService } from "./decision.service";
import { DecisionsController } from "./decisions.controller";

/**
 * Consent decisions from the projection, fail-closed when it is stale: the rule itself (`decide`, the
 * contract's twin), the API's question, and HL7 LEAP's CDS Hooks service.
 */
@Module({
  imports: [ProjectionModule, AuthModule, AuditModule, PatientsModule],
  controllers: [DecisionsController, CdsHooksController],
  providers: [DecisionService, ConsentDecisionsService, CdsHooksService],
  exports: [DecisionService],
})
export class DecisionsModule {}
