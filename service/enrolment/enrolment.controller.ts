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
  @ApiCreatedResponse({ type: EnrolmentResponseDto })
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
