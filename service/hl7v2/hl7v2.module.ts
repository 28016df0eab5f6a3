import { Module, type OnModuleInit } from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import { errorCodes, type FastifyInstance } from "fastify";
import { AuditModule } from "../audit/audit.module";
import { AuthModule } from "../auth/auth.module";
import { AppConfig } from "../config/app-config";
import { PatientsModule } from "../patients/patients.module";
import { RecordReleaseModule } from "../record-release/record-release.module";
import { HL7_V2_ER7, Hl7v2Controller } from "./hl7v2.controller";
import { Hl7v2Service } from "./hl7v2.service";
import { MllpListener } from "./mllp-listener";

/** The one route that takes a text body. */
const HL7_ROUTE = "/hl7v2";

/** HL7 v2 in (docs/hl7v2.md): `POST /hl7v2` and the MLLP listener, both storing through the record store behind consent. */
@Module({
  imports: [RecordReleaseModule, PatientsModule, AuditModule, AuthModule],
  controllers: [Hl7v2Controller],
  providers: [Hl7v2Service, MllpListener],
  exports: [MllpListener],
})
export class Hl7v2Module implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  /**
   * The API speaks JSON, and any other body type is a 415 (edge/json-body.ts) — except on `POST /hl7v2`,
   * which takes ER7 text as `x-application/hl7-v2+er7` or `text/plain`. The parser is Fastify's, so it is
   * installed before the server is ready; on every other route these types stay a 415, as before.
   */
  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter?.getInstance() as FastifyInstance | undefined;
    if (!fastify) return;
    const types = [HL7_V2_ER7, "text/plain"].filter((type) => !fastify.hasContentTypeParser(type));
    if (types.length === 0) return;
    fastify.addContentTypeParser(types, { parseAs: "string", bodyLimit: this.config.BODY_LIMIT_BYTES }, (request, body, done) => {
      if (request.routeOptions?.url !== HL7_ROUTE) return done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(String(request.headers["content-type"] ?? "")), undefined);
      done(null, body as string);
    });
  }
}
