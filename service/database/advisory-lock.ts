import { Inject, Injectable, Logger, type OnModuleDestroy } from "@nestjs/common";
import { Client } from "pg";
import { AppConfig } from "../config/app-config";

/** How often `acquire` asks again while another holder has the lock. */
export const LOCK_RETRY_MS = 250;
/** How often a PostgreSQL lease checks its session is alive; a silent network failure is noticed within this time. */
export const LOCK_HEARTBEAT_MS = 5_000;
/** Longest wait for a lease session to connect, or for its heartbeat to answer. */
export const LOCK_CONNECT_TIMEOUT_MS = 5_000;

/** Exclusive ownership of a named lock until `release()`, or until its session dies. */
export interface Lease {
  readonly name: string;
  /** False once released or lost; a holder checks it before every write it must not share. */
  readonly held: boolean;
  /** Resolves if the lease is lost without `release()` (its database session died): stop writing. */
  readonly lost: Promise<void>;
  release(): Promise<void>;
}

export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

/**
 * Named mutual exclusion between service instances (docs/architecture.md §8: one instance holds each leadership).
 *
 * PostgreSQL: a session-level advisory lock on a dedicated connection per lease, so the lock lives
 * exactly as long as that session — a crashed instance's locks vanish with its connections, and the
 * pooled connections TypeORM shares between requests can never release a lock by accident.
 * PGlite: only this process can open the embedded database, so a map of held names is enough.
 */
@Injectable()
export class LockService implements OnModuleDestroy {
  private readonly logger = new Logger(LockService.name);
  private readonly leases = new Map<string, LeaseBase>();

  constructor(@Inject(AppConfig) private readonly settings: Pick<AppConfig, "DATABASE_URL">) {}

  /** The lease on `name`, or null when someone (in this process or another) holds it. */
  async tryAcquire(name: string): Promise<Lease | null> {
    if (this.leases.has(name)) return null;
    const lease = this.settings.DATABASE_URL
      ? await PostgresLease.open(name, this.settings.DATABASE_URL, this.logger)
      : new LeaseBase(name);
    if (!lease) return null;
    if (this.leases.has(name)) {
      // Another caller in this process won the same lock while we were connecting (PGlite cannot get here).
      await lease.release();
      return null;
    }
    this.leases.set(name, lease);
    lease.onEnd = () => this.leases.delete(name);
    return lease;
  }

  /** Waits up to `timeoutMs` for the lease on `name`; throws LockTimeoutError after that. */
  async acquire(name: string, options: { timeoutMs: number }): Promise<Lease> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const lease = await this.tryAcquire(name);
      if (lease) return lease;
      const left = deadline - Date.now();
      if (left <= 0) throw new LockTimeoutError(`Lock ${name} is still held after ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(LOCK_RETRY_MS, left)));
    }
  }

  /** Names of the leases this process holds now (what a graceful stop hands over to another instance). */
  heldNames(): string[] {
    return [...this.leases.keys()].sort();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.leases.values()].map((lease) => lease.release()));
  }
}

/** An in-process lease (PGlite); also the bookkeeping every lease shares. */
class LeaseBase implements Lease {
  onEnd?: () => void;
  readonly lost: Promise<void>;
  private resolveLost!: () => void;
  private ended = false;

  constructor(readonly name: string) {
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
  }

  get held(): boolean {
    return !this.ended;
  }

  async release(): Promise<void> {
    if (this.end()) await this.close();
  }

  /** Marks the lease ended; true the first time only. */
  protected end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.onEnd?.();
    return true;
  }

  protected markLost(): void {
    if (this.end()) {
      this.resolveLost();
      void this.close();
    }
  }

  protected async close(): Promise<void> {}
}

class PostgresLease extends LeaseBase {
  private heartbeat?: NodeJS.Timeout;

  private constructor(
    name: string,
    private readonly client: Client,
    private readonly logger: Logger,
  ) {
    super(name);
  }

  static async open(name: string, url: string, logger: Logger): Promise<PostgresLease | null> {
    const client = new Client({
      connectionString: url,
      connectionTimeoutMillis: LOCK_CONNECT_TIMEOUT_MS,
      query_timeout: LOCK_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      application_name: "consentry-lock",
    });
    // Before connect: an 'error' event without a listener would crash the process.
    const opened: { lease?: PostgresLease } = {};
    client.on("error", () => opened.lease?.markLost());
    client.on("end", () => opened.lease?.markLost());
    await client.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked",
        [name],
      );
      if (!rows[0]?.locked) {
        await client.end();
        return null;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    const lease = (opened.lease = new PostgresLease(name, client, logger));
    lease.heartbeat = setInterval(() => {
      client.query("SELECT 1").catch(() => lease.markLost());
    }, LOCK_HEARTBEAT_MS);
    lease.heartbeat.unref();
    return lease;
  }

  protected override markLost(): void {
    if (this.held) this.logger.warn({ message: "Lock lost: its database session ended", lock: this.name });
    super.markLost();
  }

  protected override async close(): Promise<void> {
    clearInterval(this.heartbeat);
    // Ending the session drops its advisory locks; unlocking first just makes the release prompt for
    // observers even if the disconnect lingers.
    await this.client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [this.name]).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
