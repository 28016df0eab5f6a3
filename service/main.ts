import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { BootError } from "./chain/chain.service";
import { ConfigError, loadConfig, type AppConfig } from "./config/app-config";
import { createApp } from "./app";
import { processLog } from "./common/logger";
import { superviseMetrics } from "./observability/metrics-server";
import { onStopSignals, STOP_DEADLINE_MS, stopService, trackRequestsInFlight } from "./shutdown";

async function main(): Promise<void> {
  const config = loadConfig();
  // 0: one per core when the database can be shared (PostgreSQL), else one.
  const workers = config.WEB_CONCURRENCY === 0 ? (config.DATABASE_URL ? availableParallelism() : 1) : config.WEB_CONCURRENCY;
  if (workers > 1 && cluster.isPrimary) return supervise(config, workers);
  // A signal while starting stops the start: nothing is served yet, so there is nothing to finish.
  let stop: (signal: NodeJS.Signals) => Promise<void> = async () => undefined;
  onStopSignals((signal) => stop(signal));
  const app = await createApp(config);
  const inFlight = trackRequestsInFlight(app);
  // SIGTERM/SIGINT: stop accepting, finish requests in flight, flush the access log, release leases, exit 0 (service/shutdown.ts).
  stop = () => stopService(app, inFlight);
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.getHttpServer().address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  // Whatever LOG_LEVEL says: whoever started the service (a supervisor, a test) waits for this line.
  processLog("verbose").log({ message: "Listening", url: `http://${config.HOST}:${port}`, worker: cluster.worker?.id ?? null });
}

/**
 * Several workers on one port (the cluster shares the listening socket). They share PostgreSQL; the
 * advisory locks keep one indexer and one anchorer among them. A worker that dies is replaced. SIGTERM or
 * SIGINT stops them all gracefully: each worker runs the stop of service/shutdown.ts, and this process
 * exits 0 once every worker has exited 0 (1 otherwise, or when they overrun the deadline).
 */
async function supervise(config: AppConfig, workers: number): Promise<void> {
  if (!config.DATABASE_URL) throw new ConfigError("WEB_CONCURRENCY above 1 needs DATABASE_URL: PGlite lives inside one process");
  // /metrics reports every worker: this process aggregates them (and serves METRICS_PORT, if set).
  await superviseMetrics(config);
  let stopping = false;
  let failed = 0;
  const live = new Set<Worker>();
  const out = processLog(config.LOG_LEVEL);
  const log = (line: Record<string, unknown>) => out.log(line, "Supervisor");
  const fork = () => live.add(cluster.fork());
  for (let i = 0; i < workers; i++) fork();
  cluster.on("exit", (worker, code, signal) => {
    live.delete(worker);
    if (stopping) {
      if (code !== 0) failed++;
      log({ message: "Worker stopped", worker: worker.id, code, signal });
      if (live.size === 0) {
        log({ message: "Stopped", exitCode: failed ? 1 : 0 });
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    out.error({ message: "Worker exited; starting another", worker: worker.id, code }, "Supervisor");
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches every process of the group, npm forwards it again: act on the first signal only.
    if (stopping) return;
    stopping = true;
    log({ message: "Stopping workers", signal, workers: live.size });
    for (const worker of live) worker.process.kill("SIGTERM");
    // Each worker keeps its own deadline; this one only catches a worker that hangs past it.
    setTimeout(() => {
      for (const worker of live) worker.process.kill("SIGKILL");
      out.error({ message: "Workers overran the stop deadline; killed", workers: live.size }, "Supervisor");
      process.exit(1);
    }, STOP_DEADLINE_MS + 5_000).unref();
    if (live.size === 0) process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  log({ message: "Supervising workers", workers });
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof BootError;
  // One line an operator can act on; for the unexpected, a structured line: its type, its message redacted of
  // values, and the stack's frames.
  if (known) console.error(`consentry: ${(error as Error).message}`);
  else processLog("verbose").fatal(error, "Main");
  process.exit(1);
});
