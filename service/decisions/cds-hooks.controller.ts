import { Body, Controller, Get, HttpCode, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { ApiProblems } from "../common/openapi";
import { CdsCardsDto, CdsDiscoveryDto } from "./cds-hooks.dto";
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
  @ApiOperation({ summary: "CDS Hooks discovery", description: "The CDS services this server offers (CDS Hooks 2.0): one, HL7 LEAP's patient-consent-consult." })
  @ApiOkResponse({ type: CdsDiscoveryDto })
  discovery(): { services: (typeof CDS_SERVICE)[] } {
    return { services: [CDS_SERVICE] };
  }

  @Post("patient-consent-consult")
  @HttpCode(200)
  @ApiBearerAuth()
  @Roles("institution")
  @AuditedRoute(AccessAction.ConsentDecision)
  @ApiOperation({
    summary: "Consult consent (HL7 LEAP CDS Hooks)",
    description:
      "The same decision as POST /consent-decisions in HL7 LEAP's patient-consent-consult shape: context.patientId names the patient (did:pkh, an address, or the custodian's identifier), actor the requester, purposeOfUse and class what is asked. Recorded in the access trail.",
  })
  @ApiOkResponse({ type: CdsCardsDto, description: "One card whose extension.decision is CONSENT_PERMIT, CONSENT_DENY or NO_CONSENT" })
  @ApiProblems([400, "The context names no, an unknown or an ambiguous patient (`invalid-cds-request`, `unknown-patient`, `ambiguous-patient`), or unknown purposes or classes", "unknown-patient"])
  consult(@CurrentActor() actor: Actor, @Body() body: CdsConsentRequestDto, @Facts() facts: RequestFacts): Promise<{ cards: CdsCard[] }> {
    return this.cds.consult(actor, body.context, facts);
  }
}
