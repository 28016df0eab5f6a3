import { Body, Controller, Get, HttpCode, Param, Post, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { Facts } from "../audit/request-facts.decorator";
import { ConsentService } from "./consent.service";
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
  constructor(private readonly consents: ConsentService) {}

  @Post()
  @ApiCreatedResponse({ type: ConsentSubmissionDto, description: "Relayed; `wait: true` answers once mined and indexed" })
  grant(@CurrentActor() actor: Actor, @Body() body: GrantConsentDto, @Facts() facts: RequestFacts): Promise<ConsentSubmissionDto> {
    return this.consents.grant(actor, body, facts);
  }

  @Post(":id/revoke")
  @HttpCode(200)
  @ApiOkResponse({ type: ConsentSubmissionDto })
  revoke(
    @CurrentActor() actor: Actor,
    @Param() { id }: ConsentIdParam,
    @Body() body: RevokeConsentDto,
    @Facts() facts: RequestFacts,
  ): Promise<ConsentSubmissionDto> {
    return this.consents.revoke(actor, id, body, facts);
  }

  @Get()
  @ApiOkResponse({ type: [ConsentViewDto] })
  list(@CurrentActor() actor: Actor, @Query() query: ConsentQueryDto): Promise<ConsentViewDto[]> {
    return this.consents.list(actor, query.patient);
  }

  @Get(":id")
  @ApiOkResponse({ type: ConsentViewDto })
  get(@CurrentActor() actor: Actor, @Param() { id }: ConsentIdParam): Promise<ConsentViewDto> {
    return this.consents.get(actor, id);
  }
}
