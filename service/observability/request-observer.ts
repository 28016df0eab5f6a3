import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ServicePino } from "../common/logger";
import { httpRequestDuration } from "../common/metrics";

/** The header a request id arrives in (from a proxy or the client) and is returned in. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * A request id taken from `x-request-id` must look like one: 8 to 128 characters of letters, digits and
 * `. _ : -` (UUIDs, a proxy's hex ids, trace ids). Anything else — too short or long, spaces, quotes, other
 * characters — is replaced by a generated UUID, so a header cannot smuggle arbitrary text into the logs; so
 * is an id holding an account (`0x` and hex, a did:pkh), the personal datum most at hand here.
 */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const HOLDS_ACCOUNT = /0x[0-9a-fA-F]{6,}/;

/** Route label of a request no route matched (its path is the caller's, never a label). */
const UNMATCHED = "unmatched";
/** Route label of a request refused before routing (a URL that cannot be decoded, an overlong segment). */
const UNROUTED = "unrouted";

/** Fastify's `genReqId`: the caller's `x-request-id` when well-formed, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && WELL_FORMED_ID.test(given) && !HOLDS_ACCOUNT.test(given) ? given : randomUUID();
}

export interface RequestObserverOptions {
  /** Where the access line goes; none is written when its level (`log`) is below LOG_LEVEL. */
  logger: ServicePino;
  /** Whether /metrics is served at all (METRICS_TOKEN or METRICS_PORT): otherwise no latency is observed. */
  metrics: boolean;
}

/**
 * Every request: its id returned in `x-request-id`; once answered, one access line and one observation of
 * the latency histogram. The line carries the request id, method, route template, status and duration —
 * never the URL, its parameters or query, a header or the body — so it holds no personal data:
 * `{"level":"log","time":…,"pid":…,"context":"HTTP","message":"Request","requestId":"…","method":"GET","route":"/fhir/:type/:id","status":200,"durationMs":3.21}`.
 * Costs per request: two synchronous hooks, a histogram observation, one line of JSON (when logged).
 */
export class RequestObserver {
  private readonly log: ServicePino;
  private readonly logging: boolean;
  private readonly metrics: boolean;

  constructor(options: RequestObserverOptions) {
    this.log = options.logger;
    this.logging = options.logger.isLevelEnabled("log");
    this.metrics = options.metrics;
  }

  /** Installs the hooks on the service's Fastify instance (before any route is registered). */
  install(fastify: FastifyInstance): void {
    fastify.addHook("onRequest", (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      done();
    });
    if (!this.active) return;
    fastify.addHook("onResponse", (request, reply, done) => {
      this.observe(request.id, request.method, request.routeOptions.url || UNMATCHED, reply.statusCode, reply.elapsedTime);
      done();
    });
  }

  /** Whether anything is observed at all (else no response hook is installed). */
  get active(): boolean {
    return this.logging || this.metrics;
  }

  observe(requestId: string, method: string, route: string, status: number, durationMs: number): void {
    if (this.metrics) httpRequestDuration.observe({ method, route, status }, durationMs / 1000);
    if (this.logging) {
      this.log.log({ context: "HTTP", message: "Request", requestId, method, route, status, durationMs: Math.round(durationMs * 100) / 100 });
    }
  }

  /**
   * Wraps Fastify's `frameworkErrors` handler (errors before routing, which skip the request hooks): the
   * answer still carries the request id, and is observed and logged as route `unrouted`.
   */
  frameworkErrors(
    handler: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void,
  ): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
    return (error, request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      if (this.active) {
        const started = performance.now();
        reply.raw.once("finish", () => this.observe(request.id, request.method, UNROUTED, reply.statusCode, performance.now() - started));
      }
      handler(error, request, reply);
    };
  }
}
