import { applyDecorators } from "@nestjs/common";
import { ApiResponse } from "@nestjs/swagger";
import { PROBLEM_TYPE_PREFIX } from "./problem";

/** The media type of every error answer (RFC 9457). */
export const PROBLEM_JSON = "application/problem+json";
export const FHIR_JSON = "application/fhir+json";

/** Component names of the schemas below, as `$ref`s. */
export const SCHEMA = {
  problem: "#/components/schemas/Problem",
  fhirResource: "#/components/schemas/FhirResource",
  fhirBundle: "#/components/schemas/FhirBundle",
} as const;

/** A problem body as the service writes it (common/problem.ts): the shape every error response shares. */
export function problemExample(status: number, slug: string, title: string, detail?: string): Record<string, unknown> {
  return { type: PROBLEM_TYPE_PREFIX + slug, title, status, ...(detail ? { detail } : {}) };
}

/**
 * Schemas the controllers refer to by `$ref` that no DTO class describes: the problem details every error
 * carries, and FHIR R4 bodies, which are open-ended JSON (the service validates their shape per resource type).
 * Under /fhir the same problems are answered as FHIR OperationOutcome (domain/fhir-operation-outcome.ts).
 */
export const OPENAPI_SCHEMAS: Record<string, Record<string, unknown>> = {
  Problem: {
    type: "object",
    description:
      "Problem details (RFC 9457). `type` is `urn:consentry:problem:<slug>`; the slug is stable API that clients may branch on. Some problems add members (e.g. `errors` for a validation failure, `path` for an invalid FHIR element). Under /fhir the same problem comes as a FHIR OperationOutcome (`application/fhir+json`): the slug as a coding of system `urn:consentry:problem`, the path as `expression` (docs/fhir.md §3).",
    required: ["type", "title", "status"],
    properties: {
      type: { type: "string", format: "uri", description: "urn:consentry:problem:<slug>", example: `${PROBLEM_TYPE_PREFIX}validation-failed` },
      title: { type: "string", description: "Short summary of the kind of problem", example: "The request is invalid" },
      status: { type: "integer", description: "The HTTP status code", example: 400 },
      detail: { type: "string", description: "What went wrong this time", example: "patient: patient must be an account address (0x followed by 40 hex digits)" },
      instance: { type: "string", description: "The request path", example: "/consents" },
    },
    additionalProperties: true,
  },
  FhirResource: {
    type: "object",
    description:
      "A FHIR R4 resource (https://hl7.org/fhir/R4/resource.html) as JSON. Its type must be one the service stores (each maps to a data category, /.well-known/consentry) and it must name its patient (`subject`/`patient` reference to `Patient/{id}` or a did:pkh account).",
    required: ["resourceType"],
    properties: {
      resourceType: { type: "string", description: "The FHIR resource type", example: "Condition" },
      id: { type: "string", description: "Logical id (the server assigns one on create)", example: "c9f3e6a1-0d3b-4f5c-9a61-2f1f7b1f0a11" },
      meta: {
        type: "object",
        properties: {
          versionId: { type: "string", example: "1" },
          lastUpdated: { type: "string", format: "date-time", example: "2026-11-27T10:00:00.000Z" },
        },
        additionalProperties: true,
      },
    },
    additionalProperties: true,
    example: {
      resourceType: "Condition",
      id: "c9f3e6a1-0d3b-4f5c-9a61-2f1f7b1f0a11",
      clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }] },
      code: { coding: [{ system: "http://snomed.info/sct", code: "44054006", display: "Diabetes mellitus type 2" }] },
      subject: { reference: "Patient/a5cb8ce9-cec6-6b23-0990-cbaf753578a4" },
    },
  },
  FhirBundle: {
    type: "object",
    description: "A FHIR R4 Bundle (https://hl7.org/fhir/R4/bundle.html): a searchset or a history.",
    required: ["resourceType", "type"],
    properties: {
      resourceType: { type: "string", enum: ["Bundle"], example: "Bundle" },
      type: { type: "string", enum: ["searchset", "history"], example: "searchset" },
      total: { type: "integer", description: "How many entries match (withheld records are neither listed nor counted)", example: 1 },
      entry: {
        type: "array",
        items: {
          type: "object",
          properties: {
            fullUrl: { type: "string", format: "uri", example: "http://127.0.0.1:3000/fhir/Condition/c9f3e6a1-0d3b-4f5c-9a61-2f1f7b1f0a11" },
            resource: { $ref: SCHEMA.fhirResource },
            search: { type: "object", properties: { mode: { type: "string", example: "match" } } },
          },
        },
      },
    },
    additionalProperties: true,
  },
};

/**
 * One error response of an operation: problem+json with the Problem schema and an example naming the
 * slug a client sees first. Errors every operation shares (validation, token, rate limit, a stale
 * projection) are added to the whole document by service/openapi.ts.
 */
export function ApiProblem(status: number, description: string, slug: string, title = defaultTitle(status)): MethodDecorator & ClassDecorator {
  return ApiResponse({
    status,
    description,
    content: { [PROBLEM_JSON]: { schema: { $ref: SCHEMA.problem }, example: problemExample(status, slug, title) } },
  });
}

/** Several problem responses at once. */
export const ApiProblems = (...problems: Array<[status: number, description: string, slug: string]>) =>
  applyDecorators(...problems.map(([status, description, slug]) => ApiProblem(status, description, slug)));

function defaultTitle(status: number): string {
  return (
    {
      400: "Bad request",
      401: "Unauthorized",
      403: "Forbidden",
      404: "Not found",
      409: "Conflict",
      412: "Precondition failed",
      422: "Unprocessable content",
      429: "Too many requests",
      503: "Service unavailable",
    }[status] ?? "Error"
  );
}
