import { Module } from "@nestjs/common";
import { AuthModule } from "../auth/auth.module";
import { EdgeRefusalRecorder } from "./edge-refusals";
import { AccessEventRepository } from "./access-event.repository";
import { AccessLogService } from "./access-log.service";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import { AnchorService } from "./anchor.service";
import { AuditController } from "./audit.controller";
import { ExportService } from "./export.service";
import { FhirAuditEventController } from "./fhir-audit-event.controller";
import { ProofService } from "./proof.service";
import { RetentionService } from "./retention.service";
import { TrailService } from "./trail.service";

@Module({
  imports: [AuthModule],
  controllers: [AuditController, FhirAuditEventController],
  providers: [AccessEventRepository, AnchorBatchRepository, AccessLogService, AnchorService, ProofService, TrailService, ExportService, EdgeRefusalRecorder, RetentionService],
  exports: [AccessLogService, AnchorService, AnchorBatchRepository, EdgeRefusalRecorder],
})
export class AuditModule {}
