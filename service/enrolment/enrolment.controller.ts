import { Body, Controller, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiCreatedResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import { EnrolmentResponseDto, EnrolPatientDto } from "./enrolment.dto";
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
}
