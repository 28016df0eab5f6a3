import { Injectable, Logger } from "@nestjs/common";
import type { Actor } from "../auth/actor";
import { AuthorityService } from "../auth/authority.service";
import { AppConfig } from "../config/app-config";
import { badRequest, forbidden } from "../common/problem";
import { AnchorBatchRepository } from "./anchor-batch.repository";

const DAY_MS = 86_400_000;

export interface PruneResult {
  cutoff: string;
  batchesPruned: number;
  eventsDeleted: number;
}

/**
 * Retention: access events are kept at least AUDIT_RETENTION_DAYS. Pruning is an explicit admin
 * operation that deletes whole anchored batches' events and keeps their headers (root, range,
 * transaction), so the chain still proves what existed and the rest of the trail still verifies.
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly authority: AuthorityService,
    private readonly batches: AnchorBatchRepository,
  ) {}

  async prune(actor: Actor, before?: string | null): Promise<PruneResult> {
    if (!(await this.authority.heldOnChain("admin", actor.address))) throw forbidden("role-required", "Only an administrator can prune the access trail");
    const oldestAllowed = Date.now() - this.config.AUDIT_RETENTION_DAYS * DAY_MS;
    // JSON null means "not given", like an absent field.
    const cutoff = before === undefined || before === null ? oldestAllowed : Date.parse(before);
    if (cutoff > oldestAllowed) {
      throw badRequest("retention-period", "Inside the retention period", `Events younger than ${this.config.AUDIT_RETENTION_DAYS} days must be kept`);
    }
    const batchIds = await this.batches.prunable(cutoff);
    const eventsDeleted = batchIds.length ? await this.batches.pruneEvents(batchIds) : 0;
    this.logger.log({ message: "Access trail pruned", batches: batchIds.length, events: eventsDeleted, cutoff: new Date(cutoff).toISOString() });
    return { cutoff: new Date(cutoff).toISOString(), batchesPruned: batchIds.length, eventsDeleted };
  }
}
