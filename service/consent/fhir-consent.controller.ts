import { Controller, Get, Header, Inject, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { AppConfig } from "../config/app-config";
import { searchsetBundle } from "../fhir/bundle";
import { ConsentService } from "./consent.service";
import { ConsentQueryDto } from "./consents.dto";
import { toFhirConsent } from "./fhir-consent.mapper";

@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir/Consent")
export class FhirConsentController {
  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly consents: ConsentService,
  ) {}

  @Get()
  @Header("content-type", "application/fhir+json")
  @ApiOkResponse({ description: "A searchset Bundle of FHIR R4 Consent resources the caller may see" })
  async search(@CurrentActor() actor: Actor, @Query() query: ConsentQueryDto) {
    const rows = await this.consents.visible(actor, query.patient);
    const resources = rows.map((r) => toFhirConsent(r, this.deployment.chainId));
    return searchsetBundle(`https://${this.config.AUTH_DOMAIN}`, resources);
  }
}
