import { Controller, HttpCode, Param, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from "@nestjs/swagger";
import { IsAccount } from "../common/validators";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { Facts } from "../audit/request-facts.decorator";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { AccessAction } from "../domain/access-codes";
import { ErasureService, type ErasureResult } from "./erasure.service";

class PatientParam {
  @ApiProperty({ description: "The patient's account (any checksum)", example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" })
  @IsAccount()
  address!: string;
}

class ErasureResultDto {
  @ApiProperty({ example: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }) patient!: string;
  @ApiProperty({ example: 131 }) recordsErased!: number;
  @ApiProperty({ example: "2026-11-27T10:00:00.000Z" }) erasedAt!: string;
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
  @ApiOperation({
    summary: "Erase a patient's data (crypto-shredding)",
    description:
      "Deletes the patient's records, data key and identifier links, and blanks the trail's resource ids and justifications outside the leaf; the trail keeps addresses and hashes and still verifies. Consents on chain are untouched. Recorded in the access trail.",
  })
  @ApiOkResponse({ type: ErasureResultDto, description: "Records, data key and identifier links deleted; the trail stays verifiable" })
  erase(@CurrentActor() actor: Actor, @Param() { address }: PatientParam, @Facts() facts: RequestFacts): Promise<ErasureResult> {
    return this.erasure.erase(actor, address, facts);
  }
}
