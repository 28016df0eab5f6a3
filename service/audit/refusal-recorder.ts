import { Injectable, Logger } from "@nestjs/common";
import type { FastifyRequest } from "fastify";
import type { AuthenticatedRequest } from "../auth/auth.decorators";
import { bearerToken } from "../auth/auth.guard";
import { TokenService } from "../auth/token.service";
import type { RefusalObserver } from "../common/refusal-observer";
import { AccessAction } from "../domain/access-codes";
import { isUnstorableText } from "../domain/text";
import { AccessLogService } from "./access-log.service";
import { auditedActionOf } from "./audited-route.decorator";
import { redact } from "../common/redact";

/** Longest path value kept in the trail's context columns; anything longer was refused for its shape anyway. */
const MAX_RECORDED_PARAM = 128;

/** A path value as the trail may keep it: one the database can store and a reader can use, else none. */
function storable(value: string | undefined): string | null {
  return value && value.length <= MAX_RECORDED_PARAM && !isUnstorableText(value) ? value : null;
}

const RECORD_ACTIONS: ReadonlySet<AccessAction> = new Set([AccessAction.RecordRead, AccessAction.RecordSearch, AccessAction.RecordWrite]);

/**
 * Records attempts on audited routes that were refused before a service saw them — a body too large or
 * malformed, a DTO that failed validation — so every attempt is in the trail, not only those that reached
 * the rules. Attempts the service recorded itself are skipped. Unauthenticated requests are not recorded:
 * there is no actor to attribute them to.
 */
@Injectable()
export class RefusalRecorder implements RefusalObserver {
  private readonly logger = new Logger(RefusalRecorder.name);

  constructor(
    private readonly tokens: TokenService,
    private readonly accessLog: AccessLogService,
  ) {}

  async record(request: FastifyRequest, error: unknown): Promise<void> {
    const action = auditedActionOf(request);
    if (action === undefined) return;
    const actor = this.actorOf(request);
    if (!actor) return;
    const params = (request.params ?? {}) as { type?: string; id?: string };
    const record = RECORD_ACTIONS.has(action);
    try {
      await this.accessLog.recordRefusal(
        {
          actor,
          action,
          resourceType: record ? storable(params.type) : null,
          resourceId: record ? storable(params.id) : null,
          // The body may be what was refused (too large, not JSON): only the route goes into the hash.
          request: { method: request.method, path: (request.url ?? "").split("?")[0] },
        },
        error,
      );
    } catch (failure) {
      this.logger.error({ message: "A refused request could not be recorded", error: redact((failure as Error).message) });
    }
  }

  /** The caller, as the guard authenticated it, or from the token when the request failed before the guard ran. */
  private actorOf(request: FastifyRequest): string | undefined {
    const authenticated = (request as AuthenticatedRequest).actor;
    if (authenticated) return authenticated.address;
    const token = bearerToken(request.headers.authorization);
    if (!token) return undefined;
    try {
      return this.tokens.verify(token).address;
    } catch {
      return undefined;
    }
  }
}
