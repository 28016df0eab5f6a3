import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiOkResponse, ApiTags } from "@nestjs/swagger";
import type { FastifyReply } from "fastify";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { AccessAction } from "../domain/access-codes";
import { historyBundle, searchsetBundle } from "../domain/fhir-bundle";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import type { StoredRecord } from "../records/stored-record";
import { FhirInstanceParam, FhirReadQuery, FhirSearchQuery, FhirTypeParam, FhirVersionParam } from "./fhir.dto";
import { RecordReleaseService } from "../record-release/record-release.service";

const FHIR_JSON = "application/fhir+json";

/** The FHIR R4 REST surface for records: create, update, read, search — all consent-checked and logged. */
@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir")
export class FhirRecordsController {
  constructor(
    private readonly config: AppConfig,
    private readonly release: RecordReleaseService,
  ) {}

  @Post(":type")
  @HttpCode(201)
  @Roles("institution")
  @AuditedRoute(AccessAction.RecordWrite)
  async create(@CurrentActor() actor: Actor, @Param() { type }: FhirTypeParam, @Body() body: unknown, @Facts() facts: RequestFacts, @Res({ passthrough: true }) reply: FastifyReply) {
    const record = await this.release.create(actor, type, body, facts);
    this.describe(reply, record);
    return record.resource;
  }

  @Put(":type/:id")
  @Roles("institution")
  @AuditedRoute(AccessAction.RecordWrite)
  async update(
    @CurrentActor() actor: Actor,
    @Param() { type, id }: FhirInstanceParam,
    @Body() body: unknown,
    @Headers("if-match") ifMatch: string | undefined,
    @Facts() facts: RequestFacts,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { record, created } = await this.release.update(actor, type, id, body, parseETag(ifMatch), facts);
    this.describe(reply, record);
    reply.status(created ? 201 : 200);
    return record.resource;
  }

  @Get(":type/:id")
  @AuditedRoute(AccessAction.RecordRead)
  @ApiOkResponse({ description: "The resource, if a consent (or break-glass, or being its patient or custodian) allows it" })
  async read(
    @CurrentActor() actor: Actor,
    @Param() { type, id }: FhirInstanceParam,
    @Query() query: FhirReadQuery,
    @Facts() facts: RequestFacts,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const record = await this.release.read(actor, type, id, { ...query, facts });
    this.describe(reply, record);
    return record.resource;
  }

  @Get(":type/:id/_history")
  @AuditedRoute(AccessAction.RecordRead)
  @ApiOkResponse({ description: "A history Bundle of the versions the caller may see, newest first" })
  async history(@CurrentActor() actor: Actor, @Param() { type, id }: FhirInstanceParam, @Query() query: FhirReadQuery, @Facts() facts: RequestFacts, @Res({ passthrough: true }) reply: FastifyReply) {
    const versions = await this.release.history(actor, type, id, { ...query, facts });
    reply.header("content-type", FHIR_JSON);
    return historyBundle(publicBaseUrl(this.config), versions.map((r) => r.resource as { resourceType: string; id?: string; meta?: { versionId?: string } }));
  }

  @Get(":type/:id/_history/:vid")
  @AuditedRoute(AccessAction.RecordRead)
  @ApiOkResponse({ description: "One version of the resource (FHIR vread), under the same rules as a read" })
  async vread(
    @CurrentActor() actor: Actor,
    @Param() { type, id, vid }: FhirVersionParam,
    @Query() query: FhirReadQuery,
    @Facts() facts: RequestFacts,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const record = await this.release.read(actor, type, id, { ...query, facts }, Number(vid));
    this.describe(reply, record);
    return record.resource;
  }

  @Get(":type")
  @AuditedRoute(AccessAction.RecordSearch)
  @ApiOkResponse({ description: "A searchset Bundle of the records the caller may see; withheld records are neither listed nor counted" })
  async search(@CurrentActor() actor: Actor, @Param() { type }: FhirTypeParam, @Query() query: FhirSearchQuery, @Facts() facts: RequestFacts, @Res({ passthrough: true }) reply: FastifyReply) {
    const records = await this.release.search(actor, type, query.patient, { ...query, facts });
    reply.header("content-type", FHIR_JSON);
    return searchsetBundle(publicBaseUrl(this.config), records.map((r) => r.resource as { resourceType: string; id?: string }));
  }

  private describe(reply: FastifyReply, record: StoredRecord): void {
    reply.header("content-type", FHIR_JSON);
    reply.header("etag", `W/"${record.versionId}"`);
    reply.header("last-modified", new Date(record.lastUpdated).toUTCString());
    reply.header("location", `/fhir/${record.type}/${record.id}/_history/${record.versionId}`);
  }
}

/** FHIR versions travel as weak ETags: W/"3". */
function parseETag(value: string | undefined): number | undefined {
  const match = value && /^(?:W\/)?"(\d+)"$/.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}
