import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from "@nestjs/swagger";
import type { FastifyReply } from "fastify";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import { badRequest } from "../common/problem";
import { BatchIdParam, BatchViewDto, EventIdParam, EventProofDto, ExportQueryDto, PruneRequestDto, TrailPageDto, TrailQueryDto } from "./audit.dto";
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
  @ApiOkResponse({ description: "Deletes the events of anchored batches older than the cutoff; batch headers stay" })
  prune(@CurrentActor() actor: Actor, @Body() body: PruneRequestDto): Promise<PruneResult> {
    return this.retention.prune(actor, body.before);
  }

  @Get("events")
  @ApiOkResponse({ type: TrailPageDto })
  list(@CurrentActor() actor: Actor, @Query() query: TrailQueryDto): Promise<TrailPageDto> {
    return this.trail.list(actor, query);
  }

  @Get("events/:id/proof")
  @ApiOkResponse({ type: EventProofDto, description: "Checkable with @openzeppelin/merkle-tree or MerkleProof.verify against AccessLedger" })
  proof(@CurrentActor() actor: Actor, @Param() { id }: EventIdParam): Promise<EventProofDto> {
    return this.trail.proof(actor, id);
  }

  @Get("batches/:id")
  @ApiOkResponse({ type: BatchViewDto })
  batch(@CurrentActor() actor: Actor, @Param() { id }: BatchIdParam): Promise<BatchViewDto> {
    return this.trail.batch(actor, id);
  }

  @Get("export")
  @Roles("regulator")
  @ApiProduces("application/x-ndjson")
  @Header("content-type", "application/x-ndjson")
  @ApiOkResponse({ description: "NDJSON per docs/access-trail.md: header, batches each followed by their events with proofs, end" })
  export(@Query() query: ExportQueryDto, @Res() reply: FastifyReply): void {
    const fromMs = Date.parse(query.from);
    const toMs = Date.parse(query.to);
    if (!(fromMs < toMs)) throw badRequest("invalid-range", "`from` must be before `to`");
    void reply.header("content-type", "application/x-ndjson").send(this.exports.stream(fromMs, toMs));
  }
}
