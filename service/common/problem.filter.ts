import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from "@nestjs/common";
import type { FastifyReply, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import { Problem, PROBLEM_TYPE_PREFIX, type ProblemBody } from "./problem";

const STATUS_SLUGS: Record<number, string> = {
  400: "bad-request",
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
  405: "method-not-allowed",
  406: "not-acceptable",
  413: "payload-too-large",
  415: "unsupported-media-type",
  429: "too-many-requests",
};

/** Fastify's own errors that are the client's fault, by code. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; slug: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, slug: "payload-too-large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, slug: "unsupported-media-type" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, slug: "malformed-body" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, slug: "malformed-body" },
};

/**
 * Told of every refused request (but 401s) before its answer goes out: the access log records the
 * attempts on audited routes that no service recorded.
 */
export interface RefusalObserver {
  record(request: FastifyRequest, error: unknown): Promise<void>;
}

/**
 * Renders every error as `application/problem+json`. Known problems keep their type; anything
 * unexpected becomes a generic 500 whose body names only a correlation id, so no internals leak.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger("ProblemFilter");

  constructor(private readonly observer?: RefusalObserver) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = this.toProblem(error, request);
    const send = () => void reply.status(body.status).header("content-type", "application/problem+json").send(body);
    if (!this.observer || body.status === 401) return send();
    void this.observer.record(request, error).finally(send);
  }

  private toProblem(error: unknown, request: FastifyRequest): ProblemBody {
    const instance = request.url?.split("?")[0];
    if (error instanceof Problem) return error.toBody(instance);
    if (error instanceof HttpException) {
      const status = error.getStatus();
      if (status < 500) {
        return {
          type: PROBLEM_TYPE_PREFIX + (STATUS_SLUGS[status] ?? "client-error"),
          title: titleOf(error),
          status,
          detail: detailOf(error),
          instance,
        };
      }
    }
    const code = (error as { code?: string })?.code;
    if (code && FASTIFY_CLIENT_ERRORS[code]) {
      const { status, slug } = FASTIFY_CLIENT_ERRORS[code];
      return { type: PROBLEM_TYPE_PREFIX + slug, title: (error as Error).message, status, instance };
    }
    if ((error as { statusCode?: number })?.statusCode === 400 && error instanceof SyntaxError) {
      return { type: PROBLEM_TYPE_PREFIX + "malformed-body", title: "Body is not valid JSON", status: 400, instance };
    }
    const correlationId = randomUUID();
    this.logger.error({
      message: "Unhandled error",
      correlationId,
      method: request.method,
      route: request.routeOptions?.url,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    });
    return {
      type: PROBLEM_TYPE_PREFIX + "internal-error",
      title: "Internal server error",
      status: 500,
      detail: "An unexpected error occurred; quote the correlation id when reporting it.",
      correlationId,
      instance,
    };
  }
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
