import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { BootError } from "./chain/chain.service";
import { ConfigError, loadConfig, type AppConfig } from "./config/app-config";
import { createApp } from "./app";
import { superviseMetrics } from "./observability/metrics-server";

async function main(): Promise<void> {
  const config = loadConfig();
  // 0: one per core when the database can be shared (PostgreSQL), else one.
  const workers = config.WEB_CONCURRENCY === 0 ? (config.DATABASE_URL ? availableParallelism() : 1) : config.WEB_CONCURRENCY;
  if (workers > 1 && cluster.isPrimary) return supervise(config, workers);
  const app = await createApp(config);
  // Close the database and chain connections on SIGTERM/SIGINT (the dev stack handles its own signals).
  app.enableShutdownHooks(["SIGTERM", "SIGINT"]);
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.getHttpServer().address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  console.log(JSON.stringify({ level: "log", message: "Listening", url: `http://${config.HOST}:${port}`, worker: cluster.worker?.id ?? null }));
}

/**
 * Several workers on one port (the cluster shares the listening socket). They share PostgreSQL; the
 * advisory locks keep one indexer and one anchorer among them. A worker that dies is replaced; SIGTERM or
 * SIGINT stops them all.
 */
function supervise(config: AppConfig, workers: number): void {
  if (!config.DATABASE_URL) throw new ConfigError("WEB_CONCURRENCY above 1 needs DATABASE_URL: PGlite lives inside one process");
  // /metrics reports every worker: this process aggregates them (and serves METRICS_PORT, if set).
  superviseMetrics(config);
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on("exit", (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    console.error(JSON.stringify({ level: "error", message: "Worker exited; starting another", worker: worker.id, code }));
    fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  console.log(JSON.stringify({ level: "log", message: "Supervising workers", workers }));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof BootError;
  // One line an operator can act on; a stack trace only for the unexpected.
  console.error(known ? `consentry: ${(error as Error).message}` : error);
  process.exit(1);
});
