import { Module } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { AuthModule } from "../auth/auth.module";
import { AccessEventRepository } from "./access-event.repository";
import { AccessLogService } from "./access-log.service";
import { AnchorBatchRepository } from "./anchor-batch.repository";
import { AnchorService } from "./anchor.service";
import { AuditController } from "./audit.controller";
import { AccessEventEntity, AccessLogHeadEntity, AnchorBatchEntity } from "./audit.entities";
import { ExportService } from "./export.service";
import { ProofService } from "./proof.service";
import { RefusalRecorder } from "./refusal-recorder";
import { RetentionService } from "./retention.service";
import { TrailMonitor } from "./trail-monitor.service";
import { TrailService } from "./trail.service";

/**
 * The access trail: the hash-chained log every audited action records into (`AccessLogService.audited`),
 * its anchoring on chain in Merkle batches, and the views on it — trail, proofs, batches, export, retention.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AccessEventEntity, AccessLogHeadEntity, AnchorBatchEntity]), AuthModule],
  controllers: [AuditController],
  providers: [AccessEventRepository, AnchorBatchRepository, AccessLogService, AnchorService, ProofService, TrailService, ExportService, RefusalRecorder, RetentionService, TrailMonitor],
  exports: [AccessLogService, AnchorService, AnchorBatchRepository, RefusalRecorder, TrailService, TrailMonitor],
})
export class AuditModule {}
