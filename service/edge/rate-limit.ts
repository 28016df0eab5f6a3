import rateLimit from "@fastify/rate-limit";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import { bearerToken } from "../auth/auth.guard";
import type { TokenService } from "../auth/token.service";
import { metrics } from "../common/metrics";
import { Problem } from "../common/problem";

export const RATE_LIMIT_WINDOW_MS = 60_000;
/** Routes outside any limit: probes an orchestrator polls, and the static API documentation. */
const UNLIMITED = /^\/(health|docs)(\/|$|\?)/;

export interface RateLimitSettings {
  perMinute: number;
  redisUrl?: string;
  /** In-process exemptions by key (the dev stack seeds its demo through the API); never reachable over HTTP. */
  exempt?: (key: string) => boolean;
}

/**
 * Calls per minute per interface (the first path segment: /fhir, /consents, /audit …) and caller: an
 * account for authenticated requests (its token verified, so nobody can spend another account's quota),
 * the client address for anonymous ones. Counts live in memory, or in Redis when REDIS_URL is set so that
 * every instance shares them. A refusal is a 429 problem with Retry-After and the RateLimit-* headers.
 * Returns the Redis connection to close, if any.
 */
export async function installRateLimit(app: NestFastifyApplication, tokens: TokenService, settings: RateLimitSettings): Promise<Redis | undefined> {
  if (settings.perMinute === 0) return undefined;
  const redis = settings.redisUrl ? new Redis(settings.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }) : undefined;
  redis?.on("error", () => undefined); // reported per request through skipOnError; no unhandled 'error' events
  await app.register(rateLimit, {
    global: true,
    max: settings.perMinute,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    redis,
    nameSpace: "consentry-rate:",
    // A limiter that cannot count must not take the service down with it.
    skipOnError: true,
    enableDraftSpec: true,
    keyGenerator: (request) => `${interfaceOf(request)}|${callerOf(request, tokens)}`,
    onExceeded: (request) => metrics.rateLimited(request.routeOptions.url),
    allowList: (request, key) => UNLIMITED.test(request.url) || (settings.exempt?.(key) ?? false),
    errorResponseBuilder: (_request, context) =>
      new Problem(429, "rate-limited", "Too many requests", `At most ${context.max} calls per minute to this interface; retry in ${context.after}`),
  });
  return redis;
}

/** The interface a request belongs to: its first path segment. */
export function interfaceOf(request: FastifyRequest): string {
  return (request.url.split("?")[0].split("/")[1] ?? "").slice(0, 40) || "root";
}

function callerOf(request: FastifyRequest, tokens: TokenService): string {
  const token = bearerToken(request.headers.authorization);
  if (token) {
    try {
      return `account:${tokens.verify(token).address.toLowerCase()}`;
    } catch {
      // An invalid token is anonymous: it is limited by address, and refused by the guard anyway.
    }
  }
  return `ip:${request.ip}`;
}
