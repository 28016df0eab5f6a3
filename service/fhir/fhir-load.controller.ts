import { Body, Controller, HttpCode, Post } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import type { Actor } from "../auth/actor";
import { CurrentActor, Roles } from "../auth/auth.decorators";
import type { RequestFacts } from "../audit/access-log.service";
import { AuditedRoute } from "../audit/audited-route.decorator";
import { Facts } from "../audit/request-facts.decorator";
import { ApiProblems, FHIR_JSON } from "../common/openapi";
import { Problem } from "../common/problem";
import { AppConfig, publicBaseUrl } from "../config/app-config";
import { AccessAction } from "../domain/access-codes";
import { operationOutcomeOf } from "../domain/fhir-operation-outcome";
import { RecordReleaseService } from "../record-release/record-release.service";
import { NDJSON_TYPES } from "./ndjson-body";

const BUNDLE_SCHEMA = {
  type: "object",
  description: "A FHIR R4 Bundle (https://hl7.org/fhir/R4/bundle.html)",
  required: ["resourceType", "type"],
  properties: { resourceType: { type: "string", enum: ["Bundle"] }, type: { type: "string" }, entry: { type: "array", items: { type: "object", additionalProperties: true } } },
  additionalProperties: true,
};

const WRITE_PROBLEMS: Array<[number, string, string]> = [
  [400, "Not a transaction Bundle, an entry that is not a POST or PUT, or an entry that is invalid (`invalid-bundle`, `invalid-resource`, `unsupported-resource-type`, `unsupported-category`); the path names the entry and element", "invalid-resource"],
  [403, "Not a registered institution (`role-required`), or an entry updates another custodian's record (`wrong-custodian`)", "role-required"],
  [412, "An entry's If-Match names another version than the current one", "version-conflict"],
  [422, "An entry names no patient enrolled with this custodian, or several (`unknown-patient`, `patient-not-enrolled`, `ambiguous-patient`, `patient-mismatch`)", "patient-not-enrolled"],
];

/** Loading real exports: transaction Bundles (all or nothing) and NDJSON bulk imports (line by line). */
@ApiTags("fhir")
@ApiBearerAuth()
@Controller("fhir")
export class FhirLoadController {
  constructor(
    private readonly config: AppConfig,
    private readonly release: RecordReleaseService,
  ) {}

  @Post()
  @HttpCode(200)
  @Roles("institution")
  @AuditedRoute(AccessAction.RecordWrite)
  @ApiOperation({
    summary: "Store a transaction Bundle (all or nothing)",
    description:
      "A custodian stores several records at once: POST `Type` entries get server ids, PUT `Type/id` entries keep the client's id (update or create). References to an entry's fullUrl (`urn:uuid:…`) are rewritten to the `Type/id` stored; a patient reference may name a Patient of the same bundle, one the custodian stored before, or `Patient?identifier=system|value`. Every entry is validated and stored, or none is. Each stored entry is one access event; a refused bundle is one, naming the entry that failed.",
  })
  @ApiConsumes(FHIR_JSON, "application/json")
  @ApiBody({ schema: BUNDLE_SCHEMA, description: "A FHIR R4 Bundle of type transaction" })
  @ApiOkResponse({ description: "A transaction-response Bundle: each entry's status, location and version, in the order sent", content: { [FHIR_JSON]: { schema: BUNDLE_SCHEMA } } })
  @ApiProblems(...WRITE_PROBLEMS)
  async transaction(@CurrentActor() actor: Actor, @Body() body: unknown, @Facts() facts: RequestFacts) {
    const stored = await this.release.transaction(actor, body, facts);
    const base = publicBaseUrl(this.config);
    return {
      resourceType: "Bundle",
      type: "transaction-response",
      entry: stored.map(({ entry, record, created }) => ({
        ...(entry.fullUrl ? { fullUrl: `${base}/fhir/${record.type}/${record.id}` } : {}),
        response: {
          status: created ? "201 Created" : "200 OK",
          location: `${record.type}/${record.id}/_history/${record.versionId}`,
          etag: `W/"${record.versionId}"`,
          lastModified: record.lastUpdated,
        },
      })),
    };
  }

  @Post("$import")
  @HttpCode(200)
  @Roles("institution")
  @AuditedRoute(AccessAction.RecordWrite)
  @ApiOperation({
    summary: "Bulk import NDJSON (line by line)",
    description:
      "Initial loads: an NDJSON body (`application/fhir+ndjson`, as FHIR Bulk Data exports write it), one resource per line, stored in order. A line with an id keeps it (update-as-create), so references between lines by `Type/id` resolve; put Patient lines first. Each line is validated and stored on its own and is one access event; the answer is a batch-response Bundle with every line's outcome (status, location, or an OperationOutcome naming the failing path). Bodies are limited by BODY_LIMIT_BYTES: split larger exports.",
  })
  @ApiConsumes(...NDJSON_TYPES)
  @ApiBody({ schema: { type: "string", description: "One FHIR R4 resource per line" } })
  @ApiOkResponse({ description: "A batch-response Bundle, one entry per line in order", content: { [FHIR_JSON]: { schema: BUNDLE_SCHEMA } } })
  @ApiProblems([400, "An empty body (`malformed-body`)", "malformed-body"], [403, "Not a registered institution (`role-required`)", "role-required"], [415, "Not an NDJSON body", "unsupported-media-type"])
  async import(@CurrentActor() actor: Actor, @Body() body: unknown, @Facts() facts: RequestFacts) {
    // A JSON body parses to an object: the media type is the wrong one, as documented (415).
    if (typeof body !== "string") throw new Problem(415, "unsupported-media-type", "Unsupported media type", `Send the resources as ${NDJSON_TYPES[0]}, one per line`);
    const outcomes = await this.release.importNdjson(actor, body, facts);
    const accepted: Record<string, number> = {};
    const refused: Record<string, number> = {};
    for (const o of outcomes) {
      const tally = o.record ? accepted : refused;
      const type = o.resourceType ?? "(unreadable)";
      tally[type] = (tally[type] ?? 0) + 1;
    }
    return {
      resourceType: "Bundle",
      type: "batch-response",
      // Counts per resource type, so a loader sees at once what was taken and what was not.
      meta: { tag: [{ system: "urn:consentry:import", code: "summary", display: JSON.stringify({ accepted, refused }) }] },
      entry: outcomes.map((o, i) => ({
        response: o.record
          ? { status: o.created ? "201 Created" : "200 OK", location: `${o.record.type}/${o.record.id}/_history/${o.record.versionId}`, etag: `W/"${o.record.versionId}"` }
          : { status: String(o.problem!.statusCode), outcome: operationOutcomeOf({ ...o.problem!.toBody(), line: i + 1 }) },
      })),
    };
  }
}
