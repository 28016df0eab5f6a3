import { Body, Controller, Get, HttpCode, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiExtension, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { ApiProblems } from "../common/openapi";
import { LEAP_ERRORS } from "../common/leap-error";
import { CdsCardsDto, CdsConsentRequestDto, CdsDiscoveryDto, type CdsCard } from "./cds-hooks.dto";
import type { Actor } from "../auth/actor";
import { CurrentActor, Public, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { AccessAction } from "../domain/access-codes";
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
  @AuditedRoute(AccessAction.ConsentDecision, LEAP_ERRORS)
  @ApiExtension("x-consentry-errors", "leap")
  @ApiOperation({
    summary: "Consult consent (HL7 LEAP CDS Hooks)",
    description: [
      "HL7 LEAP's patient-consent-consult over the consent state on chain: context.patientId names the patient (did:pkh, an address, or an identifier the caller enrolled them with), context.actor the requester (required), purposeOfUse and class what is asked (class as FHIR resource types or data categories).",
      "A question only partly covered by one consent gets CONSENT_PERMIT with a REDACT obligation naming what to withhold; an unknown patient or actor gets NO_CONSENT. Recorded in the access trail (one event per consult).",
      "Errors on this route are LEAP's `{httpCode, error, errorMessage}` as application/json, not problem details.",
    ].join("\n\n"),
  })
  @ApiBody({ type: CdsConsentRequestDto })
  @ApiOkResponse({ type: CdsCardsDto, description: "One card whose extension.decision is CONSENT_PERMIT, CONSENT_DENY or NO_CONSENT" })
  @ApiProblems(
    [400, "The request is not LEAP's shape: a required key missing (patientId, actor), a context key LEAP does not define, a malformed identifier or coding", "invalid-cds-request"],
    [503, "Consent state cannot be established: the chain is unreachable or the projection stale", "consent-state-unavailable"],
  )
  consult(@CurrentActor() actor: Actor, @Body() body: unknown, @Facts() facts: RequestFacts): Promise<{ cards: CdsCard[] }> {
    return this.cds.consult(actor, body, facts);
  }
}
