import type { FastifyRequest } from "fastify";
import type { ProblemBody } from "./problem";

/**
 * HL7 LEAP's error shape. LEAP's consent decision service answers errors as `{httpCode, error, errorMessage}`
 * (application/json), where the rest of this API answers problem details (RFC 9457). Routes that speak LEAP
 * mark themselves with `LEAP_ERRORS` in their Fastify route config; the problem filter then renders the same
 * problem in LEAP's shape, whatever raised it (the body parser, the guard, validation or the service).
 */
export interface LeapError {
  httpCode: number;
  /** LEAP's snake_case error name: bad_request, unauthorized, forbidden, service_unavailable … */
  error: string;
  errorMessage: string;
}

const ERROR_SHAPE = "consentryErrorShape";

/** Route config of a route whose errors are LEAP errors (merge into the route's RouteConfig). */
export const LEAP_ERRORS = { [ERROR_SHAPE]: "leap" } as const;

/** Whether the route `request` matched answers its errors in LEAP's shape. */
export function speaksLeapErrors(request: FastifyRequest): boolean {
  const config = request.routeOptions?.config as unknown as Record<string, unknown> | undefined;
  return config?.[ERROR_SHAPE] === "leap";
}

const ERROR_NAMES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  411: "length_required",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
  431: "request_header_fields_too_large",
  500: "internal_server_error",
  503: "service_unavailable",
};

/** A problem in LEAP's shape: the status, its LEAP name, and the problem's title and detail as the message. */
export function leapErrorOf(problem: ProblemBody): LeapError {
  const message = [problem.title, problem.detail].filter(Boolean).join(": ");
  const correlation = typeof problem.correlationId === "string" ? ` (correlation id ${problem.correlationId})` : "";
  return {
    httpCode: problem.status,
    error: ERROR_NAMES[problem.status] ?? (problem.status >= 500 ? "server_error" : "client_error"),
    errorMessage: message + correlation,
  };
}

/** The LEAP error schema for the OpenAPI document, under this component name. */
export const LEAP_ERROR_SCHEMA_NAME = "LeapError";
export const LEAP_ERROR_SCHEMA = {
  type: "object",
  description:
    "HL7 LEAP's error shape, used on the LEAP consent consult instead of problem details: the HTTP status, LEAP's snake_case error name, and a message.",
  required: ["httpCode", "error", "errorMessage"],
  properties: {
    httpCode: { type: "integer", example: 400 },
    error: { type: "string", example: "bad_request" },
    errorMessage: { type: "string", example: "Invalid request: context must have required property 'actor'" },
  },
};

/**
 * Rewrites the error responses of operations marked `x-consentry-errors: leap` (set with @ApiExtension) to the
 * LeapError schema as application/json, and removes the mark. Runs on the finished OpenAPI document.
 */
export function leapErrorResponses<T extends { paths: Record<string, unknown>; components?: { schemas?: Record<string, unknown> } }>(doc: T): T {
  let used = false;
  for (const item of Object.values(doc.paths) as Array<Record<string, Record<string, unknown> | undefined>>) {
    for (const op of Object.values(item)) {
      if (!op || typeof op !== "object" || op["x-consentry-errors"] !== "leap") continue;
      delete op["x-consentry-errors"];
      used = true;
      for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, { description?: string; content?: unknown }>)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const code = Number(status);
        const description = (response.description ?? "").replace(/\s*\(`[a-z0-9-]+`\)/g, "");
        response.content = {
          "application/json": {
            schema: { $ref: `#/components/schemas/${LEAP_ERROR_SCHEMA_NAME}` },
            example: { httpCode: code, error: ERROR_NAMES[code] ?? "client_error", errorMessage: description || "Error" },
          },
        };
      }
    }
  }
  if (used) {
    doc.components ??= {};
    doc.components.schemas = { ...doc.components.schemas, [LEAP_ERROR_SCHEMA_NAME]: LEAP_ERROR_SCHEMA };
  }
  return doc;
}
