import { Body, Controller, HttpCode, Post, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import type { FastifyReply } from "fastify";
import { AuditedRoute } from "../audit/audited-route.decorator";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import { ApiProblems } from "../common/openapi";
import { badRequest, Problem } from "../common/problem";
import { AccessAction } from "../domain/access-codes";
import { Hl7v2Service } from "./hl7v2.service";

/** The HL7 v2 media type (ER7 encoding), as HL7 over HTTP names it. */
export const HL7_V2_ER7 = "x-application/hl7-v2+er7";

const EXAMPLE_ORU = [
  "MSH|^~\\&|LAB|NORTHSIDE|CONSENTRY|CONSENTRY|20261127101500+0000||ORU^R01^ORU_R01|MSG00001|P|2.5.1",
  "PID|1||MRN-0042^^^NORTHSIDE&2.16.840.1.113883.19.5&ISO^MR",
  "OBR|1||LAB-7781^NORTHSIDE|24323-8^Comprehensive metabolic panel^LN|||20261127093000+0000|||||||||||||||20261127101000+0000||CH|F",
  "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||95|mg/dL^mg/dL^UCUM|70-99|N|||F|||20261127093000+0000",
].join("\r");
const EXAMPLE_ACK = "MSH|^~\\&|CONSENTRY|CONSENTRY|LAB|NORTHSIDE|20261127101501+0000||ACK^R01^ACK|ACK5f0c2a9e1b7d4c3a|P|2.5.1\rMSA|AA|MSG00001|Message accepted";

/** `POST /hl7v2`: HL7 v2 messages over HTTP from a custodian, each answered with its ACK (docs/hl7v2.md). */
@ApiTags("hl7v2")
@ApiBearerAuth()
@Controller("hl7v2")
export class Hl7v2Controller {
  constructor(private readonly hl7: Hl7v2Service) {}

  @Post()
  @HttpCode(200)
  @Roles("institution")
  // Refusals before a message is read (not an institution, consent state unavailable, a body too large, of
  // the wrong type or no HL7 at all) are recorded as refused writes, as for a FHIR write.
  @AuditedRoute(AccessAction.RecordWrite)
  @ApiOperation({
    summary: "Receive an HL7 v2 message (ADT^A04/A08, ORU^R01)",
    description:
      "A custodian sends one HL7 v2 message in ER7 encoding. ADT^A04/A08 store the patient's demographics (FHIR Patient); ORU^R01 stores each OBX as an Observation (category laboratory) and each OBR as a DiagnosticReport naming them. The patient is matched by PID-3 against the patients enrolled with the caller; a message about anyone else is rejected (AR) and recorded as a refused write. Every stored resource goes through the same encrypted, consent-checked and access-logged record store as a FHIR write, and is read back only under consent. The answer is the HL7 ACK (HTTP 200 whatever MSA-1 says, as HL7 over HTTP does): MSA-1 AA accepted, AE an error in the content, AR rejected; MSA-2 the message control id (MSH-10); an ERR segment with the reason. Errors outside HL7 (not signed in, not an institution, a body that is no HL7 v2 message) are problem details.",
  })
  @ApiConsumes(HL7_V2_ER7, "text/plain")
  @ApiBody({ description: "One HL7 v2 message (segments separated by CR; LF and CRLF are accepted too)", schema: { type: "string", example: EXAMPLE_ORU } })
  @ApiOkResponse({ description: "The ACK: MSA-1 AA, AE or AR, MSA-2 the control id; ERR names the reason of an AE/AR", content: { [HL7_V2_ER7]: { schema: { type: "string", example: EXAMPLE_ACK } } } })
  @ApiProblems(
    [400, "The body is not an HL7 v2 message: missing, empty, or no MSH segment to acknowledge (`malformed-hl7v2`)", "malformed-hl7v2"],
    [403, "The caller is not an institution (`role-required`)", "role-required"],
    [415, "The body is neither x-application/hl7-v2+er7 nor text/plain (`unsupported-media-type`)", "unsupported-media-type"],
  )
  async receive(@CurrentActor() actor: Actor, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (body === undefined || body === null) throw badRequest("malformed-hl7v2", "The body is not an HL7 v2 message", "A message is required");
    if (typeof body !== "string") throw new Problem(415, "unsupported-media-type", "Unsupported media type", `Send the message as ${HL7_V2_ER7} or text/plain`);
    if (body.trim() === "") throw badRequest("malformed-hl7v2", "The body is not an HL7 v2 message", "The body is empty");
    const answer = await this.hl7.receiveText(actor, body, "http");
    if ("notHl7" in answer) throw badRequest("malformed-hl7v2", "The body is not an HL7 v2 message", answer.notHl7.reason);
    reply.header("content-type", `${HL7_V2_ER7}; charset=utf-8`);
    return answer.ack;
  }
}
