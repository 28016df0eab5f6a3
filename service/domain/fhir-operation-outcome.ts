/**
 * Problems (RFC 9457, common/problem.ts) as FHIR R4 OperationOutcome, which FHIR clients expect under /fhir.
 * The HTTP status stays the problem's; each issue carries the problem's slug as a coding
 * (`urn:consentry:problem` system), so a client can branch on the same stable codes as with problem+json.
 */

export const PROBLEM_CODE_SYSTEM = "urn:consentry:problem";

/** FHIR issue-type codes (http://hl7.org/fhir/issue-type) by HTTP status, for problems that name none. */
const ISSUE_TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid",
  401: "login",
  403: "forbidden",
  404: "not-found",
  405: "not-supported",
  406: "not-supported",
  408: "timeout",
  409: "conflict",
  411: "invalid",
  412: "conflict",
  413: "too-costly",
  414: "too-long",
  415: "not-supported",
  422: "processing",
  429: "throttled",
  431: "too-long",
  500: "exception",
  503: "transient",
};

/** Issue types for slugs where the status alone says too little. */
const ISSUE_TYPE_BY_SLUG: Record<string, string> = {
  "unsupported-resource-type": "not-supported",
  "unsupported-category": "not-supported",
  "invalid-resource": "structure",
  "consent-required": "security",
  "consent-denied": "security",
  "version-conflict": "conflict",
  "wrong-custodian": "forbidden",
  "patient-not-enrolled": "not-found",
  "unknown-patient": "not-found",
  "ambiguous-patient": "multiple-matches",
  "patient-mismatch": "business-rule",
  "purpose-required": "required",
  "justification-required": "required",
  "patient-required": "required",
  "validation-failed": "invalid",
  "malformed-body": "structure",
  "audit-unavailable": "transient",
  "trail-integrity-failure": "exception",
};

export interface ProblemLike {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

export interface OperationOutcomeIssue {
  severity: "fatal" | "error" | "warning" | "information";
  code: string;
  details?: { coding?: Array<{ system: string; code: string; display?: string }>; text?: string };
  diagnostics?: string;
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: "OperationOutcome";
  issue: OperationOutcomeIssue[];
}

/**
 * The OperationOutcome for a problem body. A problem that lists `issues` (an invalid resource: every
 * failing element with its path) gives one issue each; any other gives one issue, with the element path
 * as `expression` when the problem names one (`path`).
 */
export function operationOutcomeOf(problem: ProblemLike): OperationOutcome {
  const slug = problem.type.split(":").at(-1) ?? "error";
  const coding = [{ system: PROBLEM_CODE_SYSTEM, code: slug, display: problem.title }];
  const severity = problem.status >= 500 ? "fatal" : "error";
  const fallback = ISSUE_TYPE_BY_SLUG[slug] ?? ISSUE_TYPE_BY_STATUS[problem.status] ?? (problem.status >= 500 ? "exception" : "invalid");
  const listed = Array.isArray(problem.issues) ? (problem.issues as Array<{ code?: unknown; diagnostics?: unknown; expression?: unknown }>) : [];
  const issues: OperationOutcomeIssue[] = listed.length
    ? listed.map((i) => ({
        severity,
        code: typeof i.code === "string" && i.code !== "invalid" ? i.code : fallback,
        details: { coding, text: problem.title },
        ...(typeof i.diagnostics === "string" ? { diagnostics: i.diagnostics } : {}),
        ...(Array.isArray(i.expression) && i.expression.length ? { expression: i.expression.map(String) } : {}),
      }))
    : [
        {
          severity,
          code: fallback,
          details: { coding, text: problem.title },
          diagnostics: (problem.detail ?? problem.title) + (typeof problem.correlationId === "string" ? ` (correlation id ${problem.correlationId})` : ""),
          ...(typeof problem.path === "string" ? { expression: [problem.path] } : {}),
        },
      ];
  return { resourceType: "OperationOutcome", issue: issues };
}

/** Whether a request path is under the FHIR base, whose errors are OperationOutcomes. */
export const isFhirPath = (url: string | undefined): boolean => {
  const path = (url ?? "").split("?")[0];
  return path === "/fhir" || path.startsWith("/fhir/");
};

/** The OpenAPI schema of the OperationOutcome every /fhir error is (components name `OperationOutcome`). */
export const OPERATION_OUTCOME_SCHEMA = {
  type: "object",
  description:
    "A FHIR R4 OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html): how every error under /fhir is answered. Each issue carries the problem slug as a coding of system `urn:consentry:problem` (the same slug as problem+json's `type`), and the failing element's path as `expression`.",
  required: ["resourceType", "issue"],
  properties: {
    resourceType: { type: "string", enum: ["OperationOutcome"] },
    issue: {
      type: "array",
      items: {
        type: "object",
        required: ["severity", "code"],
        properties: {
          severity: { type: "string", enum: ["fatal", "error", "warning", "information"] },
          code: { type: "string", description: "http://hl7.org/fhir/issue-type", example: "structure" },
          details: { type: "object", additionalProperties: true },
          diagnostics: { type: "string", example: "Invalid dateTime format" },
          expression: { type: "array", items: { type: "string" }, example: ["Condition.onset[x]"] },
        },
      },
    },
  },
  example: {
    resourceType: "OperationOutcome",
    issue: [
      {
        severity: "error",
        code: "structure",
        details: { coding: [{ system: PROBLEM_CODE_SYSTEM, code: "invalid-resource", display: "Invalid resource" }], text: "Invalid resource" },
        diagnostics: "Invalid dateTime format",
        expression: ["Condition.onset[x]"],
      },
    ],
  },
} as const;

/**
 * Completes an OpenAPI document for /fhir: every error response of a /fhir operation also lists
 * `application/fhir+json` with the OperationOutcome schema — what is actually sent there (the problem+json
 * entry states the same problem and slug in RFC 9457 form).
 */
export function withFhirErrorMediaTypes<T extends { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, unknown> } }>(doc: T): T {
  doc.components ??= {};
  doc.components.schemas = { ...doc.components.schemas, OperationOutcome: OPERATION_OUTCOME_SCHEMA };
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!isFhirPath(path)) continue;
    for (const op of Object.values(item)) {
      for (const [status, response] of Object.entries((op as { responses?: Record<string, { content?: Record<string, unknown> }> })?.responses ?? {})) {
        if (!/^[45]\d\d$/.test(status) || !response.content) continue;
        response.content = { "application/fhir+json": { schema: { $ref: "#/components/schemas/OperationOutcome" } }, ...response.content };
      }
    }
  }
  return doc;
}
