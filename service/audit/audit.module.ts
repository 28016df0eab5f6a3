import { Module } from "@nestjs/common";
import { AccessEventRepository } from "./access-event.repository";
import { AccessLogService } from "./access-log.service";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import { AnchorService } from "./anchor.service";
import { AuditController } from "./audit.controller";
import { ExportService } from "./export.service";
import { FhirAuditEventController } from "./fhir-audit-event.controller";
import { ProofService } from "./proof.service";
import { TrailService } from "./trail.service";

@Module({
  controllers: [AuditController, FhirAuditEventController],
  providers: [AccessEventRepository, AnchorBatchRepository, AccessLogService, AnchorService, ProofService, TrailService, ExportService],
  exports: [AccessLogService, AnchorService, AnchorBatchRepository],
})
export class AuditModule {}
