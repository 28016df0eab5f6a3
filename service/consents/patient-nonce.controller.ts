import { Controller, Get, Param } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { ApiProblems } from "../common/openapi";
import { ConsentRelayService } from "./consent-relay.service";
import { PatientAddressParam, PatientNonceDto } from "./consents.dto";

/** `GET /patients/{address}/nonce`: what a wallet puts in the next grant it signs. */
@ApiTags("consents")
@ApiBearerAuth()
@Controller("patients")
export class PatientNonceController {
  constructor(private readonly relay: ConsentRelayService) {}

  @Get(":address/nonce")
  @ApiOperation({
    summary: "Read a patient's next consent nonce",
    description:
      "The nonce the patient's next signed Grant must carry: `ConsentRegistry.nonces(patient)`, read from the chain at its latest block. Every grant consumes one; revocations consume none. A grant relayed without `wait` consumes it once mined. Any signed-in account may ask (an institution relaying a patient's signature needs it too); the value is public on chain.",
  })
  @ApiOkResponse({ type: PatientNonceDto })
  @ApiProblems([503, "The chain cannot be reached (`chain-unavailable`)", "chain-unavailable"])
  nonce(@Param() { address }: PatientAddressParam): Promise<PatientNonceDto> {
    return this.relay.nextNonce(address);
  }
}
