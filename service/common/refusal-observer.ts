import type { FastifyRequest } from "fastify";

/**
 * Told of every refused request (but 401s) before its answer goes out: the access log records the
 * attempts on audited routes that no service recorded.
 */
export interface RefusalObserver {
  record(request: FastifyRequest, error: unknown): Promise<void>;
}
