import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter, type NestFastifyApplication } from "@nestjs/platform-fastify";
import type { FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import { AppModule, type AppModuleOptions } from "./app.module";
import { DEPLOYMENT } from "./chain/chain.tokens";
import type { Deployment } from "./chain/deployment";
import { installConsole, type ConsoleDemoAccount } from "./console";
import { RefusalRecorder } from "./audit/refusal-recorder";
import { TokenService } from "./auth/token.service";
import { jsonLogger } from "./common/logger";
import { validationPipe } from "./common/validation";
import { ConfigError, type AppConfig } from "./config/app-config";
import { installJsonBodyParser } from "./edge/json-body";
import { installNdjsonBodyParser } from "./fhir/ndjson-body";
import { fastifyProblemHandler, ProblemFilter } from "./edge/problem.filter";
import { frameworkProblem, writeClientProblem } from "./edge/framework-problems";
import { installRateLimit } from "./edge/rate-limit";
import { RouteIndex } from "./edge/route-index";
import { installSecurityHeaders } from "./edge/security-headers";
import { installPortal } from "./portal/portal";
import { installMetrics } from "./observability/observability";
import { metricsEnabled } from "./observability/metrics-server";
import { RequestObserver, requestIdOf } from "./observability/request-observer";
import type { DestinationStream } from "pino";

/** Longest a request may take to arrive in full. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface AppOptions extends AppModuleOptions {
  /** In-process rate-limit exemptions by limiter key (the dev stack's demo seeding); never reachable over HTTP. */
  rateLimitExempt?: (key: string) => boolean;
  /** The dev stack's demo accounts, which the web console then offers to sign in with; never set in production. */
  demoAccounts?: readonly ConsoleDemoAccount[];
  /** Where log lines go (tests capture them); stdout when unset. */
  logDestination?: DestinationStream;
}

/** Builds the service (not yet listening). Start-up checks that fail reject with a one-line error. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const tls = tlsOptions(config);
  const logger = jsonLogger(config.LOG_LEVEL, options.logDestination);
  // Every request: an id (x-request-id, accepted when well-formed) returned in the header, one access line, the latency histogram.
  const observer = new RequestObserver({ logger: logger.pino, metrics: metricsEnabled(config) });
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    logger: false,
    // A client that stops sending mid-request is answered 408 and cut off, rather than holding a socket forever.
    requestTimeout: REQUEST_TIMEOUT_MS,
    ...(tls ? { https: tls } : {}),
    // Errors Fastify raises before routing (a malformed URL, an overlong path segment) and those Node's HTTP
    // parser raises before Fastify (oversized headers) are answered as problems too.
    frameworkErrors: observer.frameworkErrors(frameworkProblem),
    genReqId: requestIdOf,
    clientErrorHandler: writeClientProblem,
  } as ConstructorParameters<typeof FastifyAdapter>[0]);
  const fastify = adapter.getInstance() as unknown as FastifyInstance;
  const routes = RouteIndex.attach(fastify);
  observer.install(fastify);
  // Nest answers errors on its own routes through ProblemFilter; the catch-all route a plugin registers
  // (CORS preflight, OPTIONS /*) is not Nest's, so it gets our problem rendering as its own error handler.
  const pluginProblems = fastifyProblemHandler(routes);
  fastify.addHook("onRoute", (route) => {
    if (route.url.includes("*") && !route.errorHandler) route.errorHandler = pluginProblems;
  });
  installJsonBodyParser(fastify, config.BODY_LIMIT_BYTES);
  installNdjsonBodyParser(fastify, config.BODY_LIMIT_BYTES);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    logger,
    abortOnError: false,
    // Our own JSON parser (installJsonBodyParser) replaces Nest's.
    bodyParser: false,
  });
  app.useGlobalFilters(new ProblemFilter({ observer: app.get(RefusalRecorder), routes }));
  app.useGlobalPipes(validationPipe());
  await installSecurityHeaders(app, {
    tls: !!tls,
    corsOrigins: (config.CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean),
    chainOrigins: config.PUBLIC_CHAIN_RPC_URL ? [new URL(config.PUBLIC_CHAIN_RPC_URL).origin] : [],
  });
  const redis = await installRateLimit(app, app.get(TokenService), {
    perMinute: config.RATE_LIMIT_PER_MINUTE,
    redisUrl: config.REDIS_URL,
    exempt: options.rateLimitExempt,
  });
  if (redis) fastify.addHook("onClose", async () => void (await redis.quit().catch(() => undefined)));
  await installConsole(app, {
    chainId: app.get<Deployment>(DEPLOYMENT).chainId,
    publicChainRpcUrl: config.PUBLIC_CHAIN_RPC_URL,
    demoAccounts: options.demoAccounts,
    problems: pluginProblems,
  });

  // Prometheus metrics, when METRICS_TOKEN or METRICS_PORT asks for them (docs/operations.md).
  await installMetrics(app, config, pluginProblems);

  // The developer portal: Swagger UI at /docs over the completed OpenAPI document, with sign-in.
  installPortal(app, config, { demoAccounts: options.demoAccounts });
  try {
    await app.init();
  } catch (error) {
    // Start-up checks run in init hooks; release the database and timers they may already hold.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

/** HTTPS with TLS 1.3 as the minimum when both files are configured. */
function tlsOptions(config: AppConfig): { cert: Buffer; key: Buffer; minVersion: "TLSv1.3" } | undefined {
  if (!config.TLS_CERT_FILE && !config.TLS_KEY_FILE) return undefined;
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) throw new ConfigError("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  try {
    return { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE), minVersion: "TLSv1.3" };
  } catch (error) {
    throw new ConfigError(`Cannot read the TLS certificate or key: ${(error as Error).message.split("\n")[0]}`);
  }
}
