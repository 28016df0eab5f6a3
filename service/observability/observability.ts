import { Logger } from "@nestjs/common";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import cluster from "node:cluster";
import type { Server } from "node:http";
import { collectDefaultMetrics } from "prom-client";
import { AnchorBatchRepository } from "../audit/anchor-batch.repository";
import { TrailMonitor } from "../audit/trail-monitor.service";
import { TransactionService } from "../chain/transactions";
import { metricsRegistry } from "../common/metrics";
import { unauthorized, unavailable } from "../common/problem";
import { ConsentIndexer } from "../projection/consent-indexer";
import { observeState } from "./collectors";
import { answerPrimaryScrapes, bearerMatches, METRICS_CONTENT_TYPE, metricsEnabled, scrape, startMetricsServer, type MetricsSettings } from "./metrics-server";

let defaultMetrics = false;

/**
 * Prometheus metrics for the service (docs/operations.md): off unless METRICS_TOKEN or METRICS_PORT is set.
 * - METRICS_TOKEN: `GET /metrics` on the service's own port, only with `Authorization: Bearer <token>`
 *   (401 otherwise). A plain Fastify route like the console's: outside the OpenAPI document, the guard and
 *   the rate limit.
 * - METRICS_PORT: `GET /metrics` on a listener of its own bound to HOST (with the token too, if set). In a
 *   cluster the primary serves it (service/main.ts calls `superviseMetrics`).
 * Either way, with several workers a scrape reports all of them, aggregated by the primary.
 * Resolves with the metrics listener this process started, if any.
 */
export async function installMetrics(
  app: NestFastifyApplication,
  config: MetricsSettings,
  problems: (error: unknown, request: FastifyRequest, reply: FastifyReply) => void,
): Promise<Server | undefined> {
  if (!metricsEnabled(config)) return undefined;
  if (!defaultMetrics) {
    defaultMetrics = true;
    // Process CPU, memory, event-loop delay, GC, handles: read at scrape time.
    collectDefaultMetrics({ register: metricsRegistry });
  }
  answerPrimaryScrapes();
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  const trail = app.get(TrailMonitor);
  const indexer = app.get(ConsentIndexer);
  const batches = app.get(AnchorBatchRepository);
  const transactions = app.get(TransactionService);
  const forget = observeState({
    trail: () => trail.report(),
    indexer: () => indexer.freshness(),
    anchoring: () => batches.anchoringProgress(),
    transactions: () => transactions.countsByState(),
  });
  fastify.addHook("onClose", async () => forget());

  const token = config.METRICS_TOKEN;
  if (token) {
    fastify.get("/metrics", { errorHandler: problems, config: { rateLimit: false } }, async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, token)) {
        void reply.header("www-authenticate", 'Bearer realm="metrics"');
        throw unauthorized("metrics-token-required", "GET /metrics needs the bearer token set in METRICS_TOKEN");
      }
      let text: string;
      try {
        text = await scrape();
      } catch {
        throw unavailable("metrics-unavailable", "The metrics could not be gathered now");
      }
      return reply.header("content-type", METRICS_CONTENT_TYPE).send(text);
    });
  }

  // In a cluster the primary owns METRICS_PORT; a single process serves it itself, and closes it with the app.
  if (config.METRICS_PORT === undefined || cluster.isWorker) return undefined;
  const logger = new Logger("Metrics");
  const server = await startMetricsServer(config, scrape, (line) => logger.log(line));
  fastify.addHook("onClose", () => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}
