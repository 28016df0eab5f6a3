import { Controller, Get, Header } from "@nestjs/common";
import { ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { Public } from "../auth/auth.decorators";
import { FHIR_JSON } from "../common/openapi";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { capabilityStatement } from "./fhir-capability";

/** `GET /fhir/metadata`: what this FHIR server really supports, for clients to discover before signing in. */
@ApiTags("fhir")
@Controller("fhir/metadata")
export class FhirMetadataController {
  private statement?: ReturnType<typeof capabilityStatement>;

  constructor(private readonly config: AppConfig) {}

  @Get()
  @Public()
  @Header("content-type", FHIR_JSON)
  @ApiOperation({
    summary: "FHIR CapabilityStatement",
    description:
      "The FHIR R4 capabilities of this server (public): every resource type it stores with its interactions and search parameters, the Consent and AuditEvent views, transactions, the NDJSON `$import` operation, and how to authenticate.",
  })
  @ApiOkResponse({ description: "A CapabilityStatement (kind instance, FHIR 4.0.1, JSON)", content: { [FHIR_JSON]: { schema: { type: "object", additionalProperties: true } } } })
  metadata() {
    this.statement ??= capabilityStatement(publicBaseUrl(this.config));
    return this.statement;
  }
}
