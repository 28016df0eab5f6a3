import { Body, Controller, Get, Param, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import { ApiProblems } from "../common/openapi";
import { EnrolmentResponseDto, EnrolmentViewDto, EnrolPatientDto, EnrolmentPatientParam } from "./enrolment.dto";
import { EnrolmentService } from "./enrolment.service";

@ApiTags("patients")
@ApiBearerAuth()
@Controller("patients")
export class EnrolmentController {
  constructor(private readonly enrolment: EnrolmentService) {}

  @Post("enrol")
  @Roles("institution")
  @ApiOperation({
    summary: "Enrol a patient with this custodian",
    description:
      "An institution links a patient's account to its local identifiers, with the patient's EIP-712 `Enrolment` signature (template: `/.well-known/consentry` → `eip712.payloads.enrolment`). The identifiers never go on chain; they are stored as keyed hashes and sealed under the patient's data key. The account is a patient from its next request on.",
  })
  @ApiCreatedResponse({ type: EnrolmentResponseDto })
  @ApiProblems(
    [400, "The patient's signature is invalid or expired (`invalid-signature`, `signature-expired`)", "invalid-signature"],
    [409, "An identifier is linked to another patient (`identifier-in-use`)", "identifier-in-use"],
  )
  enrol(@CurrentActor() actor: Actor, @Body() body: EnrolPatientDto): Promise<EnrolmentResponseDto> {
    return this.enrolment.enrol(actor, body);
  }

  @Get(":address/enrolments")
  @ApiOperation({
    summary: "List a patient's enrolments",
    description:
      "The custodian institutions a patient is enrolled with, and when: all of them to the patient themself, its own link to an institution. The identifiers stay with the custodian; only their hash is shown.",
  })
  @ApiOkResponse({ type: [EnrolmentViewDto] })
  @ApiProblems([403, "Neither the patient nor an institution (`enrolment-scope`)", "enrolment-scope"])
  list(@CurrentActor() actor: Actor, @Param() { address }: EnrolmentPatientParam): Promise<EnrolmentViewDto[]> {
    return this.enrolment.list(actor, address);
  }
}
