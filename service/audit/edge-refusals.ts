import { Injectable, Logger } from "@nestjs/common";
import type { FastifyRequest } from "fastify";
import { TokenService } from "../auth/token.service";
import { AccessAction } from "./access-event";
import { AccessLogService, isRecorded } from "./access-log.service";

/** Which audited operation a request is, from its method and path; undefined for routes outside the trail. */
export function auditedActionOf(method: string, path: string): { action: AccessAction; resourceType?: string; resourceId?: string } | undefined {
  const parts = path.split("?")[0].split("/").filter(Boolean);
  if (parts[0] === "fhir" && parts[1] && !["Consent", "AuditEvent"].includes(parts[1])) {
    const [, resourceType, resourceId] = parts;
    if (method === "GET") return { action: resourceId ? AccessAction.RecordRead : AccessAction.RecordSearch, resourceType, resourceId };
    if (method === "POST" || method === "PUT") return { action: AccessAction.RecordWrite, resourceType, resourceId };
  }
  if (method === "POST" && (parts[0] === "consent-decisions" || parts[0] === "cds-services")) return { action: AccessAction.ConsentDecision };
  if (method === "POST" && parts[0] === "consents") return { action: parts[2] === "revoke" ? AccessAction.ConsentRevoke : AccessAction.ConsentGrant };
  if (method === "POST" && parts[0] === "patients" && parts[2] === "erase") return { action: AccessAction.PatientErase };
  return undefined;
}

/**
 * Records attempts refused before a service saw them — a body too large or malformed, a DTO that failed
 * validation — so every attempt on an audited route is in the trail, not only those that reached the rules.
 * Unauthenticated requests are not recorded: there is no actor to attribute them to.
 */
@Injectable()
export class EdgeRefusalRecorder {
  private readonly logger = new Logger(EdgeRefusalRecorder.name);

  constructor(
    private readonly tokens: TokenService,
    private readonly accessLog: AccessLogService,
  ) {}

  async record(request: FastifyRequest, error: unknown): Promise<void> {
    if (isRecorded(error)) return;
    const audited = auditedActionOf(request.method, request.url ?? "");
    const header = request.headers.authorization;
    if (!audited || !header?.startsWith("Bearer ")) return;
    let actor: string;
    try {
      actor = this.tokens.verify(header.slice(7).trim()).address;
    } catch {
      return;
    }
    try {
      await this.accessLog.recordRefusal(
        {
          actor,
          action: audited.action,
          resourceType: audited.resourceType ?? null,
          resourceId: audited.resourceId ?? null,
          // The body may be what was refused (too large, not JSON): only the route goes into the hash.
          request: { method: request.method, path: (request.url ?? "").split("?")[0] },
        },
        error,
      );
    } catch (failure) {
      this.logger.error({ message: "A refused request could not be recorded", error: (failure as Error).message });
    }
  }
}
