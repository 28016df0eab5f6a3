import cluster from "node:cluster";
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { AggregatorRegistry } from "prom-client";
import type { LogLevel } from "@nestjs/common";
import { processLog } from "../common/logger";
import { metricsRegistry } from "../common/metrics";
import { PROBLEM_TYPE_PREFIX } from "../common/problem";
import { ConfigError } from "../config/app-config";
import { bearerToken } from "../auth/auth.guard";

/** What a worker asks the primary for, and what it answers: the metrics of every worker, aggregated. */
const SCRAPE_REQUEST = "consentry:metrics-request";
const SCRAPE_ANSWER = "consentry:metrics-answer";
/** A worker waits this long for the primary's aggregate (prom-client's own wait for workers is 5 s). */
const SCRAPE_TIMEOUT_MS = 8_000;

export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;

export interface MetricsSettings {
  METRICS_TOKEN?: string;
  METRICS_PORT?: number;
  HOST: string;
  PORT: number;
  LOG_LEVEL: LogLevel;
}

/** /metrics is served when a token protects it on the service's port, or a port of its own is set. */
export function metricsEnabled(config: MetricsSettings): boolean {
  return !!config.METRICS_TOKEN || config.METRICS_PORT !== undefined;
}

/** Whether `authorization` is `Bearer <token>` (scheme in any case), compared in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = bearerToken(authorization);
  if (given === undefined) return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * The exposition of this process's metrics — or, in a worker of the cluster (WEB_CONCURRENCY > 1), every
 * worker's aggregated by the primary (counters and histograms summed; gauges read from shared state by
 * max or min), so a scrape that lands on any worker reports the whole service.
 */
export function scrape(): Promise<string> {
  return cluster.isWorker ? askPrimary() : metricsRegistry.metrics();
}

let asked = 0;
function askPrimary(): Promise<string> {
  const id = ++asked;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      process.off("message", onMessage);
    };
    const onMessage = (message: { type?: string; id?: number; text?: string; error?: string }) => {
      if (message?.type !== SCRAPE_ANSWER || message.id !== id) return;
      done();
      if (typeof message.text === "string") resolve(message.text);
      else reject(new Error(message.error ?? "no metrics"));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("the primary did not answer with the workers' metrics"));
    }, SCRAPE_TIMEOUT_MS);
    process.on("message", onMessage);
    process.send!({ type: SCRAPE_REQUEST, id });
  });
}

let workerAnswering = false;
/** In a worker: lets prom-client answer the primary's requests for this worker's metrics. */
export function answerPrimaryScrapes(): void {
  if (!cluster.isWorker || workerAnswering) return;
  workerAnswering = true;
  AggregatorRegistry.setRegistries([metricsRegistry]);
  // Constructing one installs prom-client's worker-side listener.
  new AggregatorRegistry();
}

/**
 * In the primary of a cluster: aggregates the workers' metrics for a scrape on METRICS_PORT (served here)
 * or on a worker's /metrics (which asks here over IPC). No-op when metrics are off.
 */
export async function superviseMetrics(config: MetricsSettings): Promise<void> {
  if (!metricsEnabled(config) || !cluster.isPrimary) return;
  const aggregator = new AggregatorRegistry();
  const aggregate = () => aggregator.clusterMetrics();
  cluster.on("message", (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== SCRAPE_REQUEST) return;
    aggregate().then(
      (text) => worker.isConnected() && worker.send({ type: SCRAPE_ANSWER, id: message.id, text }),
      (error: Error) => worker.isConnected() && worker.send({ type: SCRAPE_ANSWER, id: message.id, error: error.message }),
    );
  });
  // Awaited: a port that cannot be bound stops the start with one fatal line, before any worker is forked.
  if (config.METRICS_PORT !== undefined) await startMetricsServer(config, aggregate);
}

/**
 * GET /metrics on METRICS_PORT, bound to HOST, nothing else (404); with METRICS_TOKEN set, only with it as
 * a bearer token (401 otherwise). Resolves with the server once it listens.
 */
export function startMetricsServer(
  config: MetricsSettings,
  read: () => Promise<string> = scrape,
  log: (line: { message: string; url: string }) => void = (line) => processLog(config.LOG_LEVEL).log(line, "Metrics"),
): Promise<Server> {
  if (config.METRICS_PORT === config.PORT && config.PORT !== 0) {
    throw new ConfigError("METRICS_PORT must differ from PORT");
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const fail = (status: number, slug: string, title: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/problem+json", "cache-control": "no-store", ...headers });
      res.end(JSON.stringify({ type: PROBLEM_TYPE_PREFIX + slug, title, status }));
    };
    if (path !== "/metrics") return fail(404, "not-found", "Not found");
    if (req.method !== "GET" && req.method !== "HEAD") return fail(405, "method-not-allowed", "Method not allowed", { allow: "GET, HEAD" });
    if (config.METRICS_TOKEN && !bearerMatches(req.headers.authorization, config.METRICS_TOKEN)) {
      return fail(401, "metrics-token-required", "Unauthorized", { "www-authenticate": 'Bearer realm="metrics"' });
    }
    read().then(
      (text) => {
        res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      () => fail(503, "metrics-unavailable", "Service unavailable"),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.METRICS_PORT, config.HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : config.METRICS_PORT;
      const host = config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
      log({ message: "Metrics listening", url: `http://${host}:${port}/metrics` });
      resolve(server);
    });
  });
}
