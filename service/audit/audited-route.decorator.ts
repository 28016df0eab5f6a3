import { RouteConfig } from "@nestjs/platform-fastify";
import type { FastifyRequest } from "fastify";
import type { AccessAction } from "../domain/access-codes";

const AUDITED_ACTION = "consentryAuditedAction";

/**
 * Marks a route whose every attempt belongs in the access trail. The service records what it decides
 * through `AccessLogService.audited`; this mark lets the refusals it never saw — a body too large or
 * malformed, a DTO that failed validation — be recorded too. It travels as Fastify route config, so it
 * is readable even for errors raised before Nest picks the handler. `config` is more route config for the same
 * route (Nest keeps one RouteConfig per handler).
 */
export const AuditedRoute = (action: AccessAction, config: Record<string, unknown> = {}) => RouteConfig({ ...config, [AUDITED_ACTION]: action });

/** The audited action of the route `request` matched, if it is marked. */
export function auditedActionOf(request: FastifyRequest): AccessAction | undefined {
  const config = request.routeOptions?.config as unknown as Record<string, unknown> | undefined;
  return config?.[AUDITED_ACTION] as AccessAction | undefined;
}
