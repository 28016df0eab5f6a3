import { Controller, Get, Header, Param, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { ApiProblems, FHIR_JSON, SCHEMA } from "../common/openapi";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { ConsentQueryService } from "../consents/consent-query.service";
import { searchsetBundle } from "../domain/fhir-bundle";
import { ChainAccounts } from "../domain/fhir-identity";
import { withoutEmpty } from "./fhir-audit-event.mapper";
import { toFhirConsent } from "./fhir-consent.mapper";
import { FhirConsentIdParam } from "./fhir-consent.dto";
import { FhirPatientQuery } from "./fhir.dto";

@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir/Consent")
export class FhirConsentController {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: ChainAccounts,
    private readonly consents: ConsentQueryService,
  ) {}

  @Get()
  @Header("content-type", "application/fhir+json")
  @ApiOperation({ summary: "Search consents as FHIR Consent", description: "The consents the caller may see (as GET /consents), as FHIR R4 Consent resources in a searchset Bundle." })
  @ApiOkResponse({ description: "A searchset Bundle of FHIR R4 Consent resources the caller may see", content: { [FHIR_JSON]: { schema: { $ref: SCHEMA.fhirBundle } } } })
  async search(@CurrentActor() actor: Actor, @Query() query: FhirPatientQuery) {
    const rows = await this.consents.visible(actor, query.patient);
    // No empty `entry` when nothing matches: FHIR JSON has no empty arrays.
    return withoutEmpty(searchsetBundle(publicBaseUrl(this.config), rows.map((r) => toFhirConsent(r, this.accounts))));
  }

  /** One consent by its FHIR id (the consentId without 0x): what LEAP's `basedOn` and AuditEvents point at. */
  @Get(":id")
  @Header("content-type", "application/fhir+json")
  @ApiOperation({ summary: "Read a consent as FHIR Consent", description: "One consent the caller may see (as GET /consents/{id}), as a FHIR R4 Consent. The id is the consentId without 0x." })
  @ApiOkResponse({ description: "A FHIR R4 Consent", content: { [FHIR_JSON]: { schema: { $ref: SCHEMA.fhirResource } } } })
  @ApiProblems([404, "No consent with that id that the caller may see", "consent-not-found"])
  async read(@CurrentActor() actor: Actor, @Param() params: FhirConsentIdParam) {
    return toFhirConsent(await this.consents.findVisible(actor, `0x${params.id.toLowerCase()}`), this.accounts);
  }
}
