import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query, Req, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from "@nestjs/swagger";
import { ApiProblems, FHIR_JSON as FHIR_MEDIA_TYPE, SCHEMA } from "../common/openapi";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { AccessAction } from "../domain/access-codes";
import { historyBundle } from "../domain/fhir-bundle";
import { pagedSearchsetBundle, searchPageUrl } from "../domain/fhir-search";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import type { StoredRecord } from "../records/stored-record";
import { ChainAccounts } from "../domain/fhir-identity";
import { withAccountIdentifier } from "../domain/patient-account";
import { DEFAULT_PAGE, FhirInstanceParam, FhirReadQuery, FhirSearchQuery, FhirTypeParam, FhirVersionParam } from "./fhir.dto";
import { RecordReleaseService } from "../record-release/record-release.service";

const FHIR_JSON = "application/fhir+json";

const resourceBody = { schema: { $ref: SCHEMA.fhirResource } };
const resourceAnswer = (description: string) => ({ description, content: { [FHIR_MEDIA_TYPE]: { schema: { $ref: SCHEMA.fhirResource } } } });
const bundleAnswer = (description: string) => ({ description, content: { [FHIR_MEDIA_TYPE]: { schema: { $ref: SCHEMA.fhirBundle } } } });
/** The refusals of every consent-checked read. */
const READ_PROBLEMS: Array<[number, string, string]> = [
  [400, "Unknown resource type (`unsupported-resource-type`), a purpose missing or unknown (`purpose-required`, `unknown-purpose`), break-glass without a justification (`justification-required`), a search without a valid patient (`patient-required`, `invalid-patient`, `ambiguous-patient`) or with an invalid `_lastUpdated` (`invalid-search`)", "purpose-required"],
  [403, "No active consent permits it (`consent-required`), a consent denies it (`consent-denied`), break-glass by a non-institution (`role-required`), or a patient searching another's records (`not-your-data`)", "consent-required"],
  [404, "No such record or version the caller may know of (`record-not-found`, `version-not-found`)", "record-not-found"],
];

/** The FHIR R4 REST surface for records: create, update, read, search — all consent-checked and logged. */
@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir")
export class FhirRecordsController {
  constructor(
    private readonly config: AppConfig,
    private readonly release: RecordReleaseService,
    private readonly accounts: ChainAccounts,
  ) {}

  /** A released record as served: a Patient carries the patient's account (did:pkh), as AuditEvents name the patient. */
  private served(record: StoredRecord) {
    return record.patient ? withAccountIdentifier(record.resource, this.accounts.identifier(record.patient)) : record.resource;
  }

  @Post(":type")
  @HttpCode(201)
  @Roles("institution")
  @AuditedRoute(AccessAction.RecordWrite)
  @ApiOperation({
    summary: "Store a FHIR record (create)",
    description:
      "A custodian stores a FHIR R4 resource of a patient enrolled with it: validated for its type, encrypted under the patient's data key, version 1. The server assigns the id. Recorded in the access trail.",
  })
  @ApiConsumes(FHIR_MEDIA_TYPE, "application/json")
  @ApiBody({ ...resourceBody, description: "A FHIR R4 resource naming its patient" })
  @ApiResponse({ status: 201, ...resourceAnswer("Stored; `Location`, `ETag` and `Last-Modified` name the version") })
  @ApiProblems(
    [400, "Unknown resource type, invalid resource or unsupported category (`unsupported-resource-type`, `invalid-resource`, `unsupported-category`)", "invalid-resource"],
    [422, "The resource names no patient enrolled with this custodian, or several (`unknown-patient`, `patient-not-enrolled`, `ambiguous-patient`)", "patient-not-enrolled"],
  )
  async create(@CurrentActor() actor: Actor, @Param() { type }: FhirTypeParam, @Body() body: unknown, @Facts() facts: RequestFacts, @Res({ passthrough: true }) reply: FastifyReply) {
    const record = await this.release.create(actor, type, body, facts);
    this.describe(reply, record);
    return record.resource;
  }

  @Put(":type/:id")
  @Roles("institution")
  @AuditedRoute(AccessAction.RecordWrite)
  @ApiOperation({
    summary: "Store a FHIR record (update or create with an id)",
    description:
      "Creates the resource under the given id, or stores a new version of it. Only the custodian that first stored it may update it, and only for the same patient. `If-Match: W/\"n\"` makes the update conditional on version n. Recorded in the access trail.",
  })
  @ApiHeader({ name: "if-match", required: false, description: "Weak ETag of the version this update replaces", example: 'W/"1"' })
  @ApiConsumes(FHIR_MEDIA_TYPE, "application/json")
  @ApiBody({ ...resourceBody, description: "A FHIR R4 resource naming its patient; its id must match the path" })
  @ApiOkResponse(resourceAnswer("A new version stored"))
  @ApiResponse({ status: 201, ...resourceAnswer("Created under this id") })
  @ApiProblems(
    [400, "Unknown resource type, invalid resource or unsupported category (`unsupported-resource-type`, `invalid-resource`, `unsupported-category`)", "invalid-resource"],
    [403, "Another custodian stored this record (`wrong-custodian`)", "wrong-custodian"],
    [412, "If-Match names another version than the current one", "version-conflict"],
    [422, "The resource names no patient enrolled with this custodian, several, or another patient than before (`unknown-patient`, `patient-not-enrolled`, `ambiguous-patient`, `patient-mismatch`)", "patient-not-enrolled"],
  )
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
  @ApiOperation({
    summary: "Read a FHIR record (consent-checked)",
    description:
      "The latest version, released if the caller is the patient, the record's custodian, or an institution whose purpose a consent active on chain permits (or break-glass: purpose=ETREAT with a justification, anchored at once and flagged to the patient). Every attempt, released or refused, is committed to the access trail before the answer leaves.",
  })
  @ApiOkResponse(resourceAnswer("The resource, if a consent (or break-glass, or being its patient or custodian) allows it"))
  @ApiProblems(...READ_PROBLEMS)
  async read(
    @CurrentActor() actor: Actor,
    @Param() { type, id }: FhirInstanceParam,
    @Query() query: FhirReadQuery,
    @Facts() facts: RequestFacts,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const record = await this.release.read(actor, type, id, { ...query, facts });
    this.describe(reply, record);
    return this.served(record);
  }

  @Get(":type/:id/_history")
  @AuditedRoute(AccessAction.RecordRead)
  @ApiOperation({ summary: "Read a FHIR record's history (consent-checked)", description: "Every version the caller may see, newest first, under the same rules and recording as a read." })
  @ApiOkResponse(bundleAnswer("A history Bundle of the versions the caller may see, newest first"))
  @ApiProblems(...READ_PROBLEMS)
  async history(@CurrentActor() actor: Actor, @Param() { type, id }: FhirInstanceParam, @Query() query: FhirReadQuery, @Facts() facts: RequestFacts, @Res({ passthrough: true }) reply: FastifyReply) {
    const versions = await this.release.history(actor, type, id, { ...query, facts });
    reply.header("content-type", FHIR_JSON);
    return historyBundle(publicBaseUrl(this.config), versions.map((r) => this.served(r) as { resourceType: string; id?: string; meta?: { versionId?: string } }));
  }

  @Get(":type/:id/_history/:vid")
  @AuditedRoute(AccessAction.RecordRead)
  @ApiOperation({ summary: "Read one version of a FHIR record (vread, consent-checked)", description: "One version of the resource (FHIR vread), under the same rules and recording as a read." })
  @ApiOkResponse(resourceAnswer("One version of the resource (FHIR vread), under the same rules as a read"))
  @ApiProblems(...READ_PROBLEMS)
  async vread(
    @CurrentActor() actor: Actor,
    @Param() { type, id, vid }: FhirVersionParam,
    @Query() query: FhirReadQuery,
    @Facts() facts: RequestFacts,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const record = await this.release.read(actor, type, id, { ...query, facts }, Number(vid));
    this.describe(reply, record);
    return this.served(record);
  }

  @Get(":type")
  @AuditedRoute(AccessAction.RecordSearch)
  @ApiOperation({
    summary: "Search FHIR records of a patient (consent-checked)",
    description:
      "A patient's records of one type that the caller may see, each category decided like a read; the search is recorded in the access trail (one event per category the type spans). `patient` is the patient's account (address or did:pkh) or an identifier they are enrolled with (`system|value`). Institutions name a purpose. `_lastUpdated` (eq, ge, gt, le, lt) narrows, `_count` pages (a `next` link follows while more remain). Directory types (Organization, Practitioner, Location, Medication …) are listed without `patient` by any institution, no consent needed, one event.",
  })
  @ApiOkResponse(bundleAnswer("A searchset Bundle of the records the caller may see, newest first; withheld records are neither listed nor counted"))
  @ApiProblems(...READ_PROBLEMS)
  async search(
    @CurrentActor() actor: Actor,
    @Param() { type }: FhirTypeParam,
    @Query() query: FhirSearchQuery,
    @Facts() facts: RequestFacts,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const count = query._count === undefined ? DEFAULT_PAGE : Number(query._count);
    const offset = query._offset === undefined ? 0 : Number(query._offset);
    const { records, total } = await this.release.search(actor, type, query.patient, {
      purpose: query.purpose,
      justification: query.justification,
      lastUpdated: query._lastUpdated,
      page: { offset, count },
      facts,
    });
    reply.header("content-type", FHIR_JSON);
    const base = publicBaseUrl(this.config);
    const [path, raw = ""] = (request.url ?? "").split("?");
    return pagedSearchsetBundle(
      base,
      records.map((r) => this.served(r) as { resourceType: string; id?: string }),
      {
        total,
        selfUrl: searchPageUrl(base, path, raw, count, offset),
        ...(offset + count < total ? { nextUrl: searchPageUrl(base, path, raw, count, offset + count) } : {}),
      },
    );
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
