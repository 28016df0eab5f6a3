import { Body, Controller, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiCreatedResponse, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import { EnrolmentResponseDto, EnrolPatientDto } from "./patients.dto";
import { PatientService } from "./patient.service";

@ApiTags("patients")
@ApiBearerAuth()
@Controller("patients")
export class PatientsController {
  constructor(private readonly patients: PatientService) {}

  @Post("enrol")
  @Roles("institution")
  @ApiCreatedResponse({ type: EnrolmentResponseDto })
  enrol(@CurrentActor() actor: Actor, @Body() body: EnrolPatientDto): Promise<EnrolmentResponseDto> {
    return this.patients.enrol(actor, body);
  }
}
