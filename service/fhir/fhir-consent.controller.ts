import { Controller, Get, Header, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { FHIR_JSON, SCHEMA } from "../common/openapi";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { ConsentQueryService } from "../consents/consent-query.service";
import { searchsetBundle } from "../domain/fhir-bundle";
import { ChainAccounts } from "../domain/fhir-identity";
import { toFhirConsent } from "./fhir-consent.mapper";
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
    return searchsetBundle(publicBaseUrl(this.config), rows.map((r) => toFhirConsent(r, this.accounts)));
  }
}
