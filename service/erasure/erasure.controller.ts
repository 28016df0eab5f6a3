import { Controller, HttpCode, Param, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import { IsAccount } from "../common/validators";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { Facts } from "../audit/request-facts.decorator";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { AccessAction } from "../domain/access-codes";
import { ErasureService, type ErasureResult } from "./erasure.service";

class PatientParam {
  @IsAccount() address!: string;
}

@ApiTags("patients")
@ApiBearerAuth()
@Controller("patients")
export class ErasureController {
  constructor(private readonly erasure: ErasureService) {}

  @Post(":address/erase")
  @HttpCode(200)
  @Roles("admin")
  @AuditedRoute(AccessAction.PatientErase)
  @ApiOkResponse({ description: "Records, data key and identifier links deleted; the trail stays verifiable" })
  erase(@CurrentActor() actor: Actor, @Param() { address }: PatientParam, @Facts() facts: RequestFacts): Promise<ErasureResult> {
    return this.erasure.erase(actor, address, facts);
  }
}
