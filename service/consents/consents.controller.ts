import { Body, Controller, Get, HttpCode, Param, Post, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { ApiProblems } from "../common/openapi";
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
  @ApiOperation({
    summary: "Relay a signed consent grant",
    description:
      "The patient signs the terms as EIP-712 `Grant` (template: `/.well-known/consentry` → `eip712.payloads.grant`; nonce: `GET /patients/{address}/nonce`) and the service relays them to ConsentRegistry, paying the gas. Everything the contract would reject is checked first. The patient relays their own grant; an institution may relay a patient's signature. Recorded in the access trail whatever the outcome.",
  })
  @ApiCreatedResponse({ type: ConsentSubmissionDto, description: "Relayed; `wait: true` answers once mined and indexed" })
  @ApiProblems(
    [400, "Invalid terms, signature or deadline (`invalid-signature`, `invalid-categories`, `invalid-purposes`, `invalid-validity`, `signature-expired`, `nonce-invalid`, `patient-not-enrolled`, `grantee-not-institution`)", "invalid-signature"],
    [403, "The caller is neither the patient nor an institution relaying for them", "not-consent-patient"],
    [409, "The nonce was already used (`nonce-used`), or the same consent exists (`consent-exists`)", "nonce-used"],
    [503, "The chain cannot be reached (`chain-unavailable`), or the projection has not caught up with a mined grant (`indexer-behind`)", "chain-unavailable"],
  )
  grant(@CurrentActor() actor: Actor, @Body() body: GrantConsentDto, @Facts() facts: RequestFacts): Promise<ConsentSubmissionDto> {
    return this.relay.grant(actor, body, facts);
  }

  @Post(":id/revoke")
  @AuditedRoute(AccessAction.ConsentRevoke)
  @HttpCode(200)
  @ApiOperation({
    summary: "Relay a signed revocation",
    description:
      "The patient signs EIP-712 `Revoke(consentId, deadline)` (template: `eip712.payloads.revoke`); revocations consume no nonce. The service relays it; decisions refuse the consent from the block it is mined in.",
  })
  @ApiOkResponse({ type: ConsentSubmissionDto })
  @ApiProblems(
    [400, "Invalid signature or deadline (`invalid-signature`, `signature-expired`)", "invalid-signature"],
    [403, "The caller is neither the patient nor an institution relaying for them", "not-consent-patient"],
    [404, "No consent with this id that the caller may see", "consent-not-found"],
    [409, "Already revoked", "consent-already-revoked"],
    [503, "The chain cannot be reached", "chain-unavailable"],
  )
  revoke(
    @CurrentActor() actor: Actor,
    @Param() { id }: ConsentIdParam,
    @Body() body: RevokeConsentDto,
    @Facts() facts: RequestFacts,
  ): Promise<ConsentSubmissionDto> {
    return this.relay.revoke(actor, id, body, facts);
  }

  @Get()
  @ApiOperation({
    summary: "List consents",
    description:
      "Consents as the projection indexed them from chain, with their status now. Without `patient`: an institution sees those naming it (or any institution), anyone else their own. With `patient`: that patient's consents the caller may see (the patient, grantees, regulators).",
  })
  @ApiOkResponse({ type: [ConsentViewDto] })
  list(@CurrentActor() actor: Actor, @Query() query: ConsentQueryDto): Promise<ConsentViewDto[]> {
    return this.query.list(actor, query.patient);
  }

  @Get(":id")
  @ApiOperation({ summary: "Read one consent", description: "One consent by id, as indexed from chain, if the caller may see it (its patient, its grantee, a regulator)." })
  @ApiOkResponse({ type: ConsentViewDto })
  @ApiProblems([404, "No consent with this id that the caller may see", "consent-not-found"])
  get(@CurrentActor() actor: Actor, @Param() { id }: ConsentIdParam): Promise<ConsentViewDto> {
    return this.query.get(actor, id);
  }
}
