import { Body, Controller, Get, Param, Post, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags, ApiCreatedResponse } from "@nestjs/swagger";
import type { FastifyReply } from "fastify";
import type { Actor } from "../auth/actor";
import { CurrentActor } from "../auth/auth.decorators";
import { ApiProblems } from "../common/openapi";
import { InstitutionDirectoryService } from "./institution-directory.service";
import { InstitutionAddressParam, InstitutionDirectoryDto, InstitutionDto, InstitutionRegistrationDto, RegisterInstitutionDto } from "./institutions.dto";

@ApiTags("institutions")
@ApiBearerAuth()
@Controller("institutions")
export class InstitutionsController {
  constructor(private readonly directory: InstitutionDirectoryService) {}

  @Get()
  @ApiOperation({
    summary: "List institutions",
    description:
      "Every account that holds or held the institution role, as indexed from the ConsentRegistry's role events, with the name the registry's admin gave it and whether it holds the role now. Any signed-in account may read it: patients choose grantees by name from it.",
  })
  @ApiOkResponse({ type: InstitutionDirectoryDto, description: "The directory, named institutions first, by name" })
  list(): Promise<InstitutionDirectoryDto> {
    return this.directory.list();
  }

  @Get(":address")
  @ApiOperation({ summary: "Look up one institution", description: "The directory entry of one account: its name and role as indexed from chain." })
  @ApiParam({ name: "address", description: "The account (any checksum)", example: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65" })
  @ApiOkResponse({ type: InstitutionDto })
  @ApiProblems([404, "The account never held the institution role and has no name", "institution-not-found"])
  get(@Param() { address }: InstitutionAddressParam): Promise<InstitutionDto> {
    return this.directory.find(address);
  }

  @Post()
  @ApiOperation({
    summary: "Register an institution",
    description:
      "The registry's admin (or registrar) names an account and makes it an institution: the service grants INSTITUTION_ROLE on chain with its registrar key (REGISTRAR_PRIVATE_KEY) unless the account already holds it, and records the name. Idempotent: repeating it changes nothing (200); a rename or a new grant answers 201. The caller's role is checked on chain now.",
  })
  @ApiCreatedResponse({ type: InstitutionRegistrationDto, description: "A grant was sent or a name recorded" })
  @ApiOkResponse({ type: InstitutionRegistrationDto, description: "Already so: nothing changed" })
  @ApiProblems(
    [400, "Invalid input, or the zero address (`invalid-institution`)", "validation-failed"],
    [403, "The caller holds neither the registry's admin role nor REGISTRAR_ROLE on chain", "role-required"],
    [409, "Another institution already has this name", "institution-name-in-use"],
    [503, "No registrar key is configured (`signer-not-configured`), it lacks REGISTRAR_ROLE (`registrar-not-authorized`), or the chain cannot be reached", "signer-not-configured"],
  )
  async register(@CurrentActor() actor: Actor, @Body() body: RegisterInstitutionDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<InstitutionRegistrationDto> {
    const registration = await this.directory.register(actor, body);
    reply.status(registration.changed ? 201 : 200);
    return registration;
  }
}
