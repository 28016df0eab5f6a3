import { Logger } from "@nestjs/common";
import type { NestFastifyApplication } from "@nestjs/platform-fastify";
import type { Server } from "node:http";
import { AccessLogService } from "./audit/access-log.service";
import { redact } from "./common/redact";
import { LockService } from "./database/advisory-lock";

/**
 * Longest a graceful stop may take before the process gives up and exits 1: requests in flight, the
 * access log's last commit, an anchoring transaction being mined. Below the usual 30 s grace of process
 * managers (Kubernetes, systemd, Docker), which send SIGKILL after it.
 */
export const STOP_DEADLINE_MS = 25_000;

const logger = new Logger("Shutdown");

/** Requests the HTTP server has received and not yet answered (or abandoned). */
export function trackRequestsInFlight(app: NestFastifyApplication): () => number {
  let inFlight = 0;
  (app.getHttpServer() as Server).on("request", (_req, res) => {
    inFlight++;
    res.once("close", () => inFlight--);
  });
  return () => inFlight;
}

/**
 * Stops the service gracefully, each step logged in one line (counts and lock names only, no personal data):
 * 1. stop accepting: the listening socket closes, idle keep-alive connections are closed, a new request on a
 *    busy connection is answered 503 — and every request in flight finishes (its event committed before its answer);
 * 2. flush the access log: every event still queued is committed;
 * 3. close the application: indexer, anchorer, trail monitor and transaction writers stop after their current
 *    step, their leases (advisory locks) are released for another instance, database and chain connections close.
 */
export async function stopService(app: NestFastifyApplication, inFlight?: () => number): Promise<void> {
  let started = Date.now();
  const busy = inFlight?.() ?? null;
  // Closing the server closes the keep-alive connections idle at that moment; one that finishes its request
  // afterwards turns idle too and would hold the close until its keep-alive timeout: close those as they come.
  const server = app.getHttpServer() as Server;
  const sweep = setInterval(() => server.closeIdleConnections?.(), 100);
  try {
    await app.getHttpAdapter().close();
  } finally {
    clearInterval(sweep);
  }
  logger.log({ message: "Stopped accepting connections; requests in flight finished", inFlight: busy, ms: Date.now() - started });

  started = Date.now();
  const committed = await app.get(AccessLogService).drain();
  logger.log({ message: "Access log flushed: every queued event committed", events: committed, ms: Date.now() - started });

  started = Date.now();
  const leases = app.get(LockService).heldNames();
  await app.close();
  logger.log({ message: "Background work stopped, leases released, connections closed", leases, ms: Date.now() - started });
}

/**
 * Runs `stop` once on the first SIGTERM or SIGINT (a terminal's Ctrl-C reaches npm and its child alike, and
 * npm forwards it again: later signals are ignored), then exits with its code — or with 1 when it fails or
 * overruns STOP_DEADLINE_MS.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.log({ message: "Stopping", signal, deadlineMs: STOP_DEADLINE_MS });
    const overrun = setTimeout(() => {
      logger.error({ message: "Stop overran its deadline; exiting", ms: Date.now() - started });
      process.exit(1);
    }, STOP_DEADLINE_MS);
    overrun.unref();
    stop(signal).then(
      () => {
        logger.log({ message: "Stopped", exitCode: 0, ms: Date.now() - started });
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ message: "Stop failed", error: redact(String((error as Error)?.message ?? error).split("\n")[0]), ms: Date.now() - started });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
}
