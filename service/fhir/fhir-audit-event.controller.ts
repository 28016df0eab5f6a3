import { Controller, Get, Header, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { FHIR_JSON, SCHEMA } from "../common/openapi";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import { TrailService } from "../audit/trail.service";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { searchsetBundle } from "../domain/fhir-bundle";
import { ChainAccounts } from "../domain/fhir-identity";
import { toFhirAuditEvent } from "./fhir-audit-event.mapper";
import { FhirPatientQuery } from "./fhir.dto";

/** Most AuditEvents in one searchset. */
const AUDIT_EVENT_PAGE = 1_000;

@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir/AuditEvent")
export class FhirAuditEventController {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: ChainAccounts,
    private readonly trail: TrailService,
  ) {}

  @Get()
  @Header("content-type", "application/fhir+json")
  @ApiOperation({ summary: "Search the access trail as FHIR AuditEvent", description: "The access events the caller may see (as GET /audit/events), as FHIR R4 AuditEvent resources following IHE BALP, at most 1,000." })
  @ApiOkResponse({ description: "A searchset Bundle of FHIR R4 AuditEvent resources (IHE BALP), newest last", content: { [FHIR_JSON]: { schema: { $ref: SCHEMA.fhirBundle } } } })
  async search(@CurrentActor() actor: Actor, @Query() query: FhirPatientQuery) {
    const events = await this.trail.visibleEvents(actor, query.patient, AUDIT_EVENT_PAGE);
    return searchsetBundle(publicBaseUrl(this.config), events.map((e) => toFhirAuditEvent(e, this.accounts)));
  }
}
