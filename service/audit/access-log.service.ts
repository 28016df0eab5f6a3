import { Injectable, Logger, type OnModuleInit } from "@nestjs/common";
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { unavailable } from "../common/problem";
import { AccessAction, AccessDecision, ZERO_ADDRESS, ZERO_HASH } from "./access-event";
import { AccessEventRepository, type AccessEventDraft } from "./access-event.repository";
import { decisionOfFailure } from "./decision-codes";
import type { AccessEventEntity } from "./audit.entities";
import { keccak, keccakReady } from "./keccak";

/** Most events committed in one transaction; a burst larger than this takes several. */
export const GROUP_COMMIT_MAX_EVENTS = 5_000;

/** What the HTTP layer knows about a request; hashed (salted with the event id), never stored. */
export interface RequestFacts {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  body?: unknown;
}

export interface AccessRecord {
  actor: string;
  patient?: string | null;
  action: AccessAction;
  decision: AccessDecision;
  categories?: number;
  purposes?: number;
  consentId?: string | null;
  request: RequestFacts;
  resourceType?: string | null;
  resourceId?: string | null;
  justification?: string | null;
  /** When the access was decided (ms); defaults to now. Decisions use floor(timeMs / 1000). */
  timeMs?: number;
}

interface Pending {
  /** Retried on its own after its group failed. */
  alone?: boolean;
  draft: AccessEventDraft;
  resolve: (event: AccessEventEntity) => void;
  reject: (error: unknown) => void;
}

/**
 * The access log. `record` resolves only once the event is committed, so callers release data after
 * it is durable. Events that arrive while a commit is in flight are committed together by the next one
 * (group commit): one transaction and one fsync for many requests.
 */
@Injectable()
export class AccessLogService implements OnModuleInit {
  private readonly logger = new Logger(AccessLogService.name);
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** Emits "committed" with the committed events, for the anchoring service. */
  readonly committed = new EventEmitter();

  constructor(private readonly events: AccessEventRepository) {}

  async onModuleInit(): Promise<void> {
    await keccakReady();
  }

  record(input: AccessRecord): Promise<AccessEventEntity> {
    const id = randomUUID();
    const draft: AccessEventDraft = {
      id,
      timeMs: input.timeMs ?? Date.now(),
      actor: input.actor.toLowerCase(),
      patient: (input.patient ?? ZERO_ADDRESS).toLowerCase(),
      action: input.action,
      categories: input.categories ?? 0,
      purposes: input.purposes ?? 0,
      decision: input.decision,
      consentId: (input.consentId ?? ZERO_HASH).toLowerCase(),
      requestHash: requestHash(id, input.request),
      resourceType: input.resourceType ?? null,
      resourceId: input.resourceId ?? null,
      justification: input.justification ?? null,
    };
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** The queued events up to the first one that must be committed alone. */
  private groupSize(): number {
    const alone = this.queue.findIndex((p) => p.alone);
    return Math.min(GROUP_COMMIT_MAX_EVENTS, alone === -1 ? this.queue.length : alone);
  }

  /** Records a refused request (503s as `unavailable`, others as `rejected`) and marks the error as recorded. */
  async recordRefusal(input: Omit<AccessRecord, "decision">, error: unknown): Promise<void> {
    await this.record({ ...input, decision: decisionOfFailure(error) });
    markRecorded(error);
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue[0].alone ? this.queue.splice(0, 1) : this.queue.splice(0, this.groupSize());
        try {
          const rows = await this.events.append(group.map((p) => p.draft));
          rows.forEach((row, i) => group[i].resolve(row));
          this.committed.emit("committed", rows);
        } catch (error) {
          if (group.length === 1) {
            this.logger.error({ message: "An access event could not be committed", error: (error as Error).message.split("\n")[0] });
            // Fail closed: the caller must not release anything it could not record.
            group[0].reject(unavailable("audit-unavailable", "The access could not be recorded, so it is refused"));
          } else {
            // One bad event must not sink the others that happened to share its commit: retry them one by one.
            this.queue.unshift(...group.map((p) => ({ ...p, alone: true })));
          }
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}

/** keccak256 of the request description salted with the event id: binds the event to its request without revealing it. */
export function requestHash(eventId: string, request: RequestFacts): string {
  const canonical = JSON.stringify([eventId, request.method.toUpperCase(), request.path, sortKeys(request.query ?? {}), request.body === undefined ? null : sortKeys(request.body)]);
  return "0x" + keccak(Buffer.from(canonical, "utf8")).toString("hex");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value as object).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

const RECORDED = Symbol("consentry.accessRecorded");

/** Marks an error whose refusal is already in the access log, so the exception filter does not log it twice. */
export function markRecorded<T>(error: T): T {
  if (error && typeof error === "object") (error as Record<symbol, boolean>)[RECORDED] = true;
  return error;
}

export function isRecorded(error: unknown): boolean {
  return !!error && typeof error === "object" && (error as Record<symbol, boolean>)[RECORDED] === true;
}
