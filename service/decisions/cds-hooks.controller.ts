import { Body, Controller, Get, HttpCode, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor, Public, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { AccessAction } from "../domain/access-codes";
import { CdsConsentRequestDto, type CdsCard } from "./cds-hooks.dto";
import { CDS_SERVICE, CdsHooksService } from "./cds-hooks.service";

@ApiTags("decisions")
@Controller("cds-services")
export class CdsHooksController {
  constructor(private readonly cds: CdsHooksService) {}

  /** CDS Hooks discovery. */
  @Get()
  @Public()
  discovery(): { services: (typeof CDS_SERVICE)[] } {
    return { services: [CDS_SERVICE] };
  }

  @Post("patient-consent-consult")
  @HttpCode(200)
  @ApiBearerAuth()
  @Roles("institution")
  @AuditedRoute(AccessAction.ConsentDecision)
  @ApiOkResponse({ description: "One card whose extension.decision is CONSENT_PERMIT, CONSENT_DENY or NO_CONSENT" })
  consult(@CurrentActor() actor: Actor, @Body() body: CdsConsentRequestDto, @Facts() facts: RequestFacts): Promise<{ cards: CdsCard[] }> {
    return this.cds.consult(actor, body.context, facts);
  }
}
