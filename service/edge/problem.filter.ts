import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger, NotFoundException } from "@nestjs/common";
import type { FastifyReply, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import { redact } from "../common/redact";
import { leapErrorOf, speaksLeapErrors } from "../common/leap-error";
import { Problem, PROBLEM_TYPE_PREFIX, type ProblemBody } from "../common/problem";
import type { RefusalObserver } from "../common/refusal-observer";
import { isFhirPath, operationOutcomeOf } from "../domain/fhir-operation-outcome";
import { isDatabaseUnavailable } from "./database-errors";
import type { RouteIndex } from "./route-index";

/** Seconds a client should wait before retrying a 503: long enough for a poll or a reconnect. */
export const RETRY_AFTER_S = 5;

const STATUS_SLUGS: Record<number, string> = {
  400: "bad-request",
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
  405: "method-not-allowed",
  406: "not-acceptable",
  408: "request-timeout",
  411: "length-required",
  413: "payload-too-large",
  414: "uri-too-long",
  415: "unsupported-media-type",
  429: "too-many-requests",
  431: "request-header-fields-too-large",
};

/** Fastify's own errors that are the client's fault, by code. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; slug: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, slug: "payload-too-large", title: "The body is too large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, slug: "unsupported-media-type", title: "Unsupported media type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, slug: "malformed-body", title: "The body's length differs from Content-Length" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, slug: "malformed-body", title: "The body is empty" },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, slug: "malformed-body", title: "Body is not valid JSON" },
  FST_ERR_BAD_URL: { status: 400, slug: "bad-url", title: "The URL is not valid" },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, slug: "uri-too-long", title: "A path segment is too long" },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, slug: "unsupported-media-type", title: "Unsupported media type" },
};

const logger = new Logger("ProblemFilter");

/**
 * Renders every error as `application/problem+json` (RFC 9457). Known problems keep their type; a client's
 * mistake caught by the framework gets its status; a database that cannot be reached is a 503 with
 * `Retry-After`; anything else becomes a generic 500 whose body names only a correlation id, and whose log
 * line carries no personal data.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly options: { observer?: RefusalObserver; routes?: RouteIndex } = {}) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { body, headers } = problemOf(error, request, this.options.routes);
    const send = speaksLeapErrors(request)
      ? () => void reply.status(body.status).headers({ ...headers, "content-type": "application/json; charset=utf-8" }).send(leapErrorOf(body))
      : isFhirPath(request.url)
        ? // FHIR clients expect OperationOutcome under /fhir: the same problem, its slug kept as a coding.
          () => void reply.status(body.status).headers({ ...headers, "content-type": "application/fhir+json" }).send(operationOutcomeOf(body))
        : () => void reply.status(body.status).headers({ ...headers, "content-type": "application/problem+json" }).send(body);
    // Unauthenticated attempts have no actor; rate-limited ones never reached the service (and recording a
    // flood would cost what the limit protects).
    if (!this.options.observer || body.status === 401 || body.status === 429) return send();
    void this.options.observer.record(request, error).finally(send);
  }
}

/**
 * The problem an error is answered with, and the headers that go with it. Shared by the Nest filter and the
 * Fastify error handler that serves routes Nest does not own (CORS preflight).
 */
export function problemOf(error: unknown, request: FastifyRequest, routes?: RouteIndex): { body: ProblemBody; headers: Record<string, string> } {
  const instance = request.url?.split("?")[0];
  const retry = { "retry-after": String(RETRY_AFTER_S) };
  if (error instanceof Problem) {
    const body = error.toBody(instance);
    return { body, headers: body.status === 503 ? retry : {} };
  }
  if (error instanceof NotFoundException && !request.routeOptions?.url) {
    const allowed = routes?.allowedMethods(instance ?? "") ?? [];
    if (allowed.length > 0) {
      return {
        body: { type: PROBLEM_TYPE_PREFIX + "method-not-allowed", title: "Method not allowed", status: 405, detail: `Allowed: ${allowed.join(", ")}`, instance },
        headers: { allow: allowed.join(", ") },
      };
    }
  }
  if (error instanceof HttpException && error.getStatus() < 500) {
    const status = error.getStatus();
    return { body: { type: PROBLEM_TYPE_PREFIX + (STATUS_SLUGS[status] ?? "client-error"), title: titleOf(error), status, detail: detailOf(error), instance }, headers: {} };
  }
  const code = (error as { code?: string })?.code;
  if (code && FASTIFY_CLIENT_ERRORS[code]) {
    const { status, slug, title } = FASTIFY_CLIENT_ERRORS[code];
    return { body: { type: PROBLEM_TYPE_PREFIX + slug, title, status, instance }, headers: {} };
  }
  const statusCode = (error as { statusCode?: number })?.statusCode;
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    return { body: { type: PROBLEM_TYPE_PREFIX + (STATUS_SLUGS[statusCode] ?? "client-error"), title: "The request is not valid", status: statusCode, instance }, headers: {} };
  }
  if (isDatabaseUnavailable(error)) {
    logger.warn({ message: "Database unavailable; request refused", requestId: request.id, method: request.method, route: request.routeOptions?.url });
    return {
      body: { type: PROBLEM_TYPE_PREFIX + "database-unavailable", title: "Service unavailable", status: 503, detail: "The database cannot be reached; nothing was served", instance },
      headers: retry,
    };
  }
  const correlationId = randomUUID();
  logger.error({
    message: "Unhandled error",
    correlationId,
    requestId: request.id,
    method: request.method,
    route: request.routeOptions?.url,
    // Driver and library messages can quote the values they choked on: redacted, and no stack with them.
    error: error instanceof Error ? { name: error.name, message: redact(error.message.split("\n")[0]) } : "non-error thrown",
  });
  return {
    body: {
      type: PROBLEM_TYPE_PREFIX + "internal-error",
      title: "Internal server error",
      status: 500,
      detail: "An unexpected error occurred; quote the correlation id when reporting it.",
      correlationId,
      instance,
    },
    headers: {},
  };
}

function titleOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === "object" && response && "error" in response) return String(response.error);
  return error.message;
}

function detailOf(error: HttpException): string | undefined {
  const response = error.getResponse();
  if (typeof response === "object" && response && "message" in response) {
    const message = (response as { message: unknown }).message;
    return Array.isArray(message) ? message.join("; ") : String(message);
  }
  return undefined;
}

/** Answers errors on routes Nest does not own (registered by plugins before Nest's own handler exists) as problems. */
export function fastifyProblemHandler(routes?: RouteIndex) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const { body, headers } = problemOf(error, request, routes);
    if (isFhirPath(request.url)) void reply.status(body.status).headers({ ...headers, "content-type": "application/fhir+json" }).send(operationOutcomeOf(body));
    else void reply.status(body.status).headers({ ...headers, "content-type": "application/problem+json" }).send(body);
  };
}
