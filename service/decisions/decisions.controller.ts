import { Body, Controller, HttpCode, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { AccessAction } from "../domain/access-codes";
import { ConsentDecisionsService } from "./consent-decisions.service";
import { DecisionRequestDto, DecisionResponseDto } from "./decisions.dto";

@ApiTags("decisions")
@ApiBearerAuth()
@Controller("consent-decisions")
export class DecisionsController {
  constructor(private readonly decisions: ConsentDecisionsService) {}

  @Post()
  @HttpCode(200)
  @Roles("institution")
  @AuditedRoute(AccessAction.ConsentDecision)
  @ApiOkResponse({ type: DecisionResponseDto })
  @ApiServiceUnavailableResponse({ description: "Consent state cannot be established (chain unreachable or projection stale)" })
  decide(@CurrentActor() actor: Actor, @Body() body: DecisionRequestDto, @Facts() facts: RequestFacts): Promise<DecisionResponseDto> {
    return this.decisions.ask(actor, body, facts);
  }
}
