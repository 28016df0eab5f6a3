import { Body, Controller, Get, HttpCode, Param, Post, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { AccessAction } from "../domain/access-codes";
import { ConsentQueryService } from "./consent-query.service";
import { ConsentRelayService } from "./consent-relay.service";
import {
  ConsentIdParam,
  ConsentQueryDto,
  ConsentSubmissionDto,
  ConsentViewDto,
  GrantConsentDto,
  RevokeConsentDto,
} from "./consents.dto";

@ApiTags("consents")
@ApiBearerAuth()
@Controller("consents")
export class ConsentsController {
  constructor(
    private readonly relay: ConsentRelayService,
    private readonly query: ConsentQueryService,
  ) {}

  @Post()
  @AuditedRoute(AccessAction.ConsentGrant)
  @ApiCreatedResponse({ type: ConsentSubmissionDto, description: "Relayed; `wait: true` answers once mined and indexed" })
  grant(@CurrentActor() actor: Actor, @Body() body: GrantConsentDto, @Facts() facts: RequestFacts): Promise<ConsentSubmissionDto> {
    return this.relay.grant(actor, body, facts);
  }

  @Post(":id/revoke")
  @AuditedRoute(AccessAction.ConsentRevoke)
  @HttpCode(200)
  @ApiOkResponse({ type: ConsentSubmissionDto })
  revoke(
    @CurrentActor() actor: Actor,
    @Param() { id }: ConsentIdParam,
    @Body() body: RevokeConsentDto,
    @Facts() facts: RequestFacts,
  ): Promise<ConsentSubmissionDto> {
    return this.relay.revoke(actor, id, body, facts);
  }

  @Get()
  @ApiOkResponse({ type: [ConsentViewDto] })
  list(@CurrentActor() actor: Actor, @Query() query: ConsentQueryDto): Promise<ConsentViewDto[]> {
    return this.query.list(actor, query.patient);
  }

  @Get(":id")
  @ApiOkResponse({ type: ConsentViewDto })
  get(@CurrentActor() actor: Actor, @Param() { id }: ConsentIdParam): Promise<ConsentViewDto> {
    return this.query.get(actor, id);
  }
}
