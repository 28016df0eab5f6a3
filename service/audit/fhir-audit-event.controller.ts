import { Controller, Get, Header, Inject, Query } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import { DEPLOYMENT } from "../chain/chain.tokens";
import type { Deployment } from "../chain/deployment";
import { AppConfig } from "../config/app-config";
import { ConsentQueryDto } from "../consent/consents.dto";
import { searchsetBundle } from "../fhir/bundle";
import { toFhirAuditEvent } from "./fhir-audit-event.mapper";
import { TrailService } from "./trail.service";

@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir/AuditEvent")
export class FhirAuditEventController {
  constructor(
    private readonly config: AppConfig,
    @Inject(DEPLOYMENT) private readonly deployment: Deployment,
    private readonly trail: TrailService,
  ) {}

  @Get()
  @Header("content-type", "application/fhir+json")
  @ApiOkResponse({ description: "A searchset Bundle of FHIR R4 AuditEvent resources (IHE BALP), newest last" })
  async search(@CurrentActor() actor: Actor, @Query() query: ConsentQueryDto) {
    const events = await this.trail.visibleEvents(actor, query.patient, 1_000);
    return searchsetBundle(`https://${this.config.AUTH_DOMAIN}`, events.map((e) => toFhirAuditEvent(e, this.deployment.chainId)));
  }
}
