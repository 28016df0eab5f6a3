import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleInit } from "@nestjs/common";
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { Problem, unavailable } from "../common/problem";
import { ZERO_ADDRESS, ZERO_HASH } from "./access-event";
import { AccessAction, AccessDecision, DECISION_NAMES } from "../domain/access-codes";
import { AccessEventRepository, type AccessEventDraft } from "./access-event.repository";
import type { AccessEventEntity } from "./audit.entities";
import { keccak, keccakReady } from "./keccak";
import { metrics } from "../common/metrics";
import { redact } from "../common/redact";

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
  /** The authenticated caller. */
  actor: string;
  /** Whom the decision is about, when not the caller (a custodian consulting for another institution). */
  requester?: string;
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

/** What is known of an access when it starts: everything but how it ended. */
export type AccessAttempt = Omit<AccessRecord, "decision">;

/** How an access ended: its decision, and any fields learned only at the end (the consent that decided …). */
export type AccessOutcome = Partial<AccessAttempt> & Pick<AccessRecord, "decision">;

/** What an audited action returns: its value, and the outcome (or one per category) to record. */
export interface Audited<T> {
  value: T;
  outcome: AccessOutcome | readonly AccessOutcome[];
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
export class AccessLogService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(AccessLogService.name);
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** Emits "committed" with the committed events, for the anchoring service. */
  readonly committed = new EventEmitter();
  /** Events committed since start (a graceful stop reports how many it waited for). */
  private committedCount = 0;

  constructor(private readonly events: AccessEventRepository) {}

  async onModuleInit(): Promise<void> {
    await keccakReady();
  }

  /**
   * Stopping: after the HTTP server has stopped accepting and its requests in flight have finished, the
   * application closes; every event still queued is committed first (or refused to its caller, as ever).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  /** Resolves once every event queued so far, and any queued meanwhile, is committed or refused; returns how many were committed. */
  async drain(): Promise<number> {
    const before = this.committedCount;
    while (this.flushing) await this.flushing;
    return this.committedCount - before;
  }

  record(input: AccessRecord): Promise<AccessEventEntity> {
    const id = randomUUID();
    const draft: AccessEventDraft = {
      id,
      timeMs: input.timeMs ?? Date.now(),
      actor: input.actor.toLowerCase(),
      requester: (input.requester ?? input.actor).toLowerCase(),
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

  /** Erasure: the patient's events keep their anchored fields but lose the columns that could name them. */
  forgetIdentifiersOf(patient: string): Promise<number> {
    return this.events.blankIdentifyingColumns(patient);
  }

  /** The queued events up to the first one that must be committed alone. */
  private groupSize(): number {
    const alone = this.queue.findIndex((p) => p.alone);
    return Math.min(GROUP_COMMIT_MAX_EVENTS, alone === -1 ? this.queue.length : alone);
  }

  /**
   * The audited path: runs `action` and records how it ended, exactly once, before the caller hears.
   * - It returns a value and its outcome(s): each outcome is recorded (a search records one per category).
   * - It throws: the attempt is recorded as refused — with the rules' decision if the error came from
   *   `refusedBy` (a consent that denies, or none that permits), else as `unavailable` (503) or `rejected`.
   * `attempt` is what is known when the access starts; the action fills in its subject (patient,
   * categories …) as it learns it, so a refusal records as much as was known.
   */
  async audited<T>(attempt: AccessAttempt, action: (attempt: AccessAttempt) => Promise<Audited<T>>): Promise<T> {
    let done: Audited<T>;
    try {
      done = await action(attempt);
    } catch (error) {
      await this.recordRefusal(attempt, error);
      throw error;
    }
    const outcomes = Array.isArray(done.outcome) ? done.outcome : [done.outcome as AccessOutcome];
    try {
      await Promise.all(outcomes.map((outcome) => this.record({ ...attempt, ...outcome })));
    } catch (error) {
      // A change that took effect (a write, a relayed consent, an erasure) must not then be recorded as
      // refused; a read that could not be recorded releases nothing, and may still be recorded as refused.
      throw outcomes.some((o) => o.decision === AccessDecision.Recorded) ? markRecorded(error) : error;
    }
    return done.value;
  }

  /**
   * Records a refused attempt, unless it is recorded already (an error that passed through `audited`).
   * Also the path for refusals the rules never saw: a body too large, a DTO that failed validation.
   */
  async recordRefusal(attempt: AccessAttempt, error: unknown): Promise<void> {
    if (isRecorded(error)) return;
    await this.record({ ...attempt, ...(ruledOutcome(error) ?? { decision: decisionOfFailure(error) }) });
    markRecorded(error);
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue[0].alone ? this.queue.splice(0, 1) : this.queue.splice(0, this.groupSize());
        try {
          const started = performance.now();
          const rows = await this.events.append(group.map((p) => p.draft));
          metrics.accessLogCommitted(rows, (performance.now() - started) / 1000, (d) => DECISION_NAMES[d as AccessDecision]);
          this.committedCount += rows.length;
          rows.forEach((row, i) => group[i].resolve(row));
          this.committed.emit("committed", rows);
        } catch (error) {
          if (group.length === 1) {
            metrics.accessLogCommitFailed();
            this.logger.error({ message: "An access event could not be committed", error: redact((error as Error).message) });
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

/** Errors whose attempt is in the access log already, so no later layer records it twice. */
const recorded = new WeakSet<object>();
/** Refusals decided by the rules, with the decision to record. */
const ruled = new WeakMap<object, AccessOutcome>();

function markRecorded<T>(error: T): T {
  if (error && typeof error === "object") recorded.add(error);
  return error;
}

function isRecorded(error: unknown): boolean {
  return !!error && typeof error === "object" && recorded.has(error);
}

function ruledOutcome(error: unknown): AccessOutcome | undefined {
  return error && typeof error === "object" ? ruled.get(error) : undefined;
}

/** A refusal the rules decided (a consent denies, or none permits): `audited` records it with `outcome`'s decision. */
export function refusedBy(problem: Problem, outcome: AccessOutcome): Problem {
  ruled.set(problem, outcome);
  return problem;
}

/** How a failed attempt is recorded: 503s as `unavailable`, everything else as `rejected`. */
function decisionOfFailure(error: unknown): AccessDecision {
  return error instanceof Problem && error.statusCode === 503 ? AccessDecision.Unavailable : AccessDecision.Rejected;
}
