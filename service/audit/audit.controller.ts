import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from "@nestjs/swagger";
import { ApiProblems } from "../common/openapi";
import type { FastifyReply } from "fastify";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import { badRequest } from "../common/problem";
import { BatchIdParam, BatchViewDto, EventIdParam, EventProofDto, ExportQueryDto, PruneRequestDto, PruneResultDto, TrailPageDto, TrailQueryDto } from "./audit.dto";
import { ExportService } from "./export.service";
import { RetentionService, type PruneResult } from "./retention.service";
import { TrailService } from "./trail.service";

@ApiTags("audit")
@ApiBearerAuth()
@Controller("audit")
export class AuditController {
  constructor(
    private readonly trail: TrailService,
    private readonly exports: ExportService,
    private readonly retention: RetentionService,
  ) {}

  @Post("prune")
  @HttpCode(200)
  @Roles("admin")
  @ApiOperation({
    summary: "Prune the access trail (retention)",
    description:
      "Deletes the events of confirmed batches older than the cutoff, which may not be later than now minus AUDIT_RETENTION_DAYS; batch headers and their on-chain roots stay, so the rest of the trail still verifies.",
  })
  @ApiOkResponse({ type: PruneResultDto, description: "Deletes the events of anchored batches older than the cutoff; batch headers stay" })
  @ApiProblems([400, "The cutoff lies inside the retention period (`retention-period`) or is not an ISO 8601 instant", "retention-period"])
  prune(@CurrentActor() actor: Actor, @Body() body: PruneRequestDto): Promise<PruneResult> {
    return this.retention.prune(actor, body.before);
  }

  @Get("events")
  @ApiOperation({
    summary: "List access events",
    description:
      "The access trail, oldest first, in pages (`after` = the previous page's `next`). A patient sees every access to their data, break-glass flagged; an institution its own accesses; a regulator everything.",
  })
  @ApiOkResponse({ type: TrailPageDto })
  list(@CurrentActor() actor: Actor, @Query() query: TrailQueryDto): Promise<TrailPageDto> {
    return this.trail.list(actor, query);
  }

  @Get("events/:id/proof")
  @ApiOperation({
    summary: "Prove an access event's inclusion",
    description:
      "The event's leaf (encoding and values), its Merkle path and the anchored batch: checkable with @openzeppelin/merkle-tree, MerkleProof.verify, or AccessLedger.verifyEvent on chain. Only for events the caller may see, once their batch is built.",
  })
  @ApiOkResponse({ type: EventProofDto, description: "Checkable with @openzeppelin/merkle-tree or MerkleProof.verify against AccessLedger" })
  @ApiProblems(
    [404, "No such event the caller may see (`event-not-found`)", "event-not-found"],
    [409, "The event is not in a confirmed batch yet (`not-yet-anchored`)", "not-yet-anchored"],
    [503, "The event fails the trail's own integrity check and is withheld (`trail-integrity-failure`)", "trail-integrity-failure"],
  )
  proof(@CurrentActor() actor: Actor, @Param() { id }: EventIdParam): Promise<EventProofDto> {
    return this.trail.proof(actor, id);
  }

  @Get("batches/:id")
  @ApiOperation({ summary: "Read an anchored batch", description: "A batch's Merkle root, sequence range, anchoring state (built, submitted, confirmed) and transaction." })
  @ApiOkResponse({ type: BatchViewDto })
  @ApiProblems([404, "No such batch", "batch-not-found"])
  batch(@CurrentActor() actor: Actor, @Param() { id }: BatchIdParam): Promise<BatchViewDto> {
    return this.trail.batch(actor, id);
  }

  @Get("export")
  @Roles("regulator")
  @ApiProduces("application/x-ndjson")
  @Header("content-type", "application/x-ndjson")
  @ApiOperation({
    summary: "Export the access trail (regulator)",
    description:
      "NDJSON per docs/access-trail.md: a header, then each batch in the range followed by its events with their proofs, then an end line. The input of `npm run verify`, which checks it against the chain without trusting this service.",
  })
  @ApiOkResponse({
    description: "NDJSON per docs/access-trail.md: header, batches each followed by their events with proofs, end",
    content: { "application/x-ndjson": { schema: { type: "string", description: "One JSON object per line" }, example: '{"kind":"header","format":2}\n{"kind":"batch","batchId":1}\n{"kind":"end"}\n' } },
  })
  @ApiProblems([400, "`from` is not before `to` (`invalid-range`), or a bound is not an ISO 8601 instant", "invalid-range"])
  export(@Query() query: ExportQueryDto, @Res() reply: FastifyReply): void {
    const fromMs = Date.parse(query.from);
    const toMs = Date.parse(query.to);
    if (!(fromMs < toMs)) throw badRequest("invalid-range", "`from` must be before `to`");
    void reply.header("content-type", "application/x-ndjson").send(this.exports.stream(fromMs, toMs));
  }
}
