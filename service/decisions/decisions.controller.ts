import { Body, Controller, HttpCode, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { ApiProblems } from "../common/openapi";
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
  @ApiOperation({
    summary: "Decide whether a patient's consent allows a release",
    description:
      "permit, deny or no-consent for (patient, requester, categories, purpose) now, by the contract's rule over the consents as indexed from chain: deny if an active deny consent overlaps; else permit if the requester is an institution and active permits cover every category; else no-consent. The deciding consent and the block the answer rests on come back. Recorded in the access trail.",
  })
  @ApiOkResponse({ type: DecisionResponseDto })
  @ApiProblems([503, "Consent state cannot be established: the chain is unreachable or the projection stale (`consent-state-unavailable`)", "consent-state-unavailable"])
  decide(@CurrentActor() actor: Actor, @Body() body: DecisionRequestDto, @Facts() facts: RequestFacts): Promise<DecisionResponseDto> {
    return this.decisions.ask(actor, body, facts);
  }
}
