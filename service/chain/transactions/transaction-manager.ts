import { Logger, type LoggerService } from "@nestjs/common";
import { getAddress, isHexString, Wallet, type Provider } from "ethers";
import type { DataSource } from "typeorm";
import type { Lease, LockService } from "../../database/advisory-lock";
import type { ChainTransactionEntity } from "./chain-transaction.entity";
import { ChainTransactionRepository } from "./chain-transaction.repository";
import { ChainUnavailableError, onChain, safeErrorMessage, TransactionTimeoutError } from "./chain-errors";
import { NonceAllocator } from "./nonce-allocator";
import { NotWriterError, type SignerContext } from "./signer-context";
import { TransactionMonitor } from "./transaction-monitor";
import { DEFAULT_TRANSACTION_TIMING, type TransactionTiming } from "./transaction-policy";
import { sendQueued } from "./transaction-sender";
import { errorOfFailedRow, TrackedTransaction, type TransactionWatcher } from "./tracked-transaction";

/** In-process event: the first broadcast of a row has an outcome. */
const BROADCAST_SETTLED = "broadcast-settled";

/** Advisory lock a signer's writer holds: `chain-signer:<checksummed address>`. */
export const SIGNER_LOCK_PREFIX = "chain-signer:";

export interface TransactionRequest {
  to: string;
  /** Calldata, 0x-prefixed. Stored, never logged. */
  data: string;
  /** What the transaction does, e.g. "consent.grant", "ledger.anchor". */
  kind: string;
  /** The caller's identifier (consent id, batch id) for `findByRef`. */
  ref?: string;
  value?: bigint;
}

export interface TransactionManagerOptions {
  provider: Provider;
  dataSource: DataSource;
  locks: LockService;
  privateKey: string;
  /** config.CHAIN_CONFIRMATIONS. */
  confirmations: number;
  timing?: Partial<TransactionTiming>;
  logger?: LoggerService;
}

/**
 * Sends and follows the transactions of one signer key. Requests are recorded in `chain_transactions`
 * first; then the signer's single writer — this instance while it holds the advisory lock
 * `chain-signer:<address>`, else another instance sharing the database — sends them in order and
 * follows them to confirmation. Any instance may submit and wait.
 */
export class TransactionManager implements TransactionWatcher {
  readonly address: string;
  private readonly repository: ChainTransactionRepository;
  private readonly nonces: NonceAllocator;
  private readonly monitor: TransactionMonitor;
  private readonly ctx: SignerContext;
  private readonly timing: TransactionTiming;
  private readonly logger: LoggerService;
  private readonly stopping = new AbortController();
  private lease: Lease | undefined;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;
  private chainId: Promise<bigint> | undefined;
  private readonly broadcasting = new Set<number>();

  constructor(private readonly options: TransactionManagerOptions) {
    const wallet = new Wallet(options.privateKey);
    this.address = wallet.address;
    this.timing = { ...DEFAULT_TRANSACTION_TIMING, ...options.timing };
    this.logger = options.logger ?? new Logger(TransactionManager.name);
    this.repository = new ChainTransactionRepository(options.dataSource);
    this.nonces = new NonceAllocator(this.address, options.provider, this.repository);
    this.ctx = {
      address: this.address,
      wallet,
      provider: options.provider,
      repository: this.repository,
      nonces: this.nonces,
      timing: this.timing,
      confirmations: options.confirmations,
      logger: this.logger,
      chainId: () => (this.chainId ??= this.loadChainId()),
      assertWriter: () => {
        if (this.stopping.signal.aborted || !this.isWriter) throw new NotWriterError("Not the signer's writer");
      },
      broadcasting: this.broadcasting,
      broadcastSettled: (id) => {
        this.broadcasting.delete(id);
        this.repository.changes.emit(BROADCAST_SETTLED, id);
      },
      sleep: (ms) => this.sleep(ms),
    };
    this.monitor = new TransactionMonitor(this.ctx);
  }

  /** Whether this instance currently sends for the signer. */
  get isWriter(): boolean {
    return this.lease?.held === true;
  }

  /** Starts competing for the signer's lock and, once held, sending and following (resuming the table). */
  start(): void {
    if (!this.running && !this.stopping.signal.aborted) this.running = this.run();
  }

  /** Stops after the current step and releases the lock; unfinished rows stay for the next writer. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.running;
    await this.lease?.release();
    this.lease = undefined;
  }

  /**
   * Records the request, then resolves once its transaction is sent (with `hash` set). Rejects with
   * TransactionRevertedError if gas estimation reverts (nothing is sent), TransactionRejectedError if
   * the node refuses it, ChainUnavailableError if the chain stays unreachable before it could be sent.
   */
  async submit(request: TransactionRequest): Promise<TrackedTransaction> {
    const row = await this.repository.create({ signer: this.address, ...normalize(request) });
    this.start();
    this.kick();
    // Sent means broadcast: when this instance is the writer, wait for the broadcast's outcome too, so
    // the caller never acts on a hash the node has not seen yet.
    const sent = await this.watch(
      row.id,
      (r) => (r.state === "created" || (r.state === "sent" && this.broadcasting.has(r.id)) ? undefined : r),
      Number.POSITIVE_INFINITY,
    );
    return new TrackedTransaction(row.id, sent, this);
  }

  /** The latest request recorded with this kind and ref for this signer, whatever its state. */
  async findByRef(kind: string, ref: string): Promise<TrackedTransaction | null> {
    const row = await this.repository.findLatestByRef(this.address, kind, ref);
    return row && new TrackedTransaction(row.id, row, this);
  }

  async get(id: number): Promise<TrackedTransaction | null> {
    const row = await this.repository.get(id);
    return row && row.signer === this.address ? new TrackedTransaction(row.id, row, this) : null;
  }

  /** Every row change this instance makes (for metrics and tests); returns the unsubscribe function. */
  onChange(listener: (row: ChainTransactionEntity) => void): () => void {
    this.repository.changes.on("change", listener);
    return () => this.repository.changes.off("change", listener);
  }

  async watch<T>(id: number, settle: (row: ChainTransactionEntity) => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let current = id;
    for (;;) {
      if (this.stopping.signal.aborted) {
        throw new ChainUnavailableError("The transaction manager stopped; the request stays recorded");
      }
      // Listen before reading, so a change between the read and the wait is not missed.
      const changed = this.nextChange(current, Math.max(0, Math.min(this.timing.waitPollMs, deadline - Date.now())));
      try {
        const row = await this.repository.get(current);
        if (!row) throw new Error(`No chain transaction ${current}`);
        if (row.state === "replaced" && row.replacedBy !== null) {
          current = row.replacedBy;
          continue;
        }
        if (row.state === "failed") throw errorOfFailedRow(row);
        const value = settle(row);
        if (value !== undefined) return value;
        if (Date.now() >= deadline) {
          throw new TransactionTimeoutError(`Chain transaction ${id} is still ${row.state} after ${timeoutMs} ms`);
        }
        await changed.promise;
      } finally {
        changed.cancel();
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await this.step();
      } catch (error) {
        if (!(error instanceof NotWriterError)) {
          this.logger.warn({ message: "Chain transaction step failed", signer: this.address, error: safeErrorMessage(error) });
        }
      }
      await this.pause(this.isWriter ? this.timing.monitorPollMs : this.timing.leadershipPollMs);
    }
  }

  /** Follow what is in flight first (it frees slots and detects replacements), then send what is queued. */
  private async step(): Promise<void> {
    if (!this.isWriter && !(await this.lead())) return;
    await this.monitor.check();
    for (;;) {
      this.ctx.assertWriter();
      if ((await this.repository.count(this.address, ["sent"])) >= this.timing.maxInFlight) return;
      const [next] = await this.repository.list(this.address, ["created"], 1);
      if (!next) return;
      await sendQueued(this.ctx, next);
    }
  }

  private async lead(): Promise<boolean> {
    const lease = await this.options.locks.tryAcquire(SIGNER_LOCK_PREFIX + this.address);
    if (!lease) return false;
    if (this.stopping.signal.aborted) {
      await lease.release();
      return false;
    }
    this.lease = lease;
    this.nonces.reset(); // Another writer may have sent since we last counted.
    void lease.lost.then(() => {
      if (this.lease !== lease) return;
      this.lease = undefined;
      this.nonces.reset();
      this.logger.warn({ message: "Chain signer writer stopped: its lock was lost", signer: this.address });
    });
    this.logger.log({ message: "Chain signer writer started", signer: this.address });
    return true;
  }

  private kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private pause(ms: number): Promise<void> {
    if (this.kicked || this.stopping.signal.aborted) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.kicked = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.reject(new NotWriterError("Stopped"));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(new NotWriterError("Stopped"));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Resolves on the next change to row `id` made in this process, after `ms`, or on stop. */
  private nextChange(id: number, ms: number): { promise: Promise<void>; cancel: () => void } {
    const { changes } = this.repository;
    const signal = this.stopping.signal;
    let cancel: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      const onChange = (row: ChainTransactionEntity) => {
        if (row.id === id) cancel();
      };
      const onSettled = (settled: number) => {
        if (settled === id) cancel();
      };
      const timer = setTimeout(() => cancel(), ms);
      cancel = () => {
        clearTimeout(timer);
        changes.off("change", onChange);
        changes.off(BROADCAST_SETTLED, onSettled);
        signal.removeEventListener("abort", cancel);
        resolve();
      };
      changes.on("change", onChange);
      changes.on(BROADCAST_SETTLED, onSettled);
      signal.addEventListener("abort", cancel, { once: true });
    });
    return { promise, cancel };
  }

  private loadChainId(): Promise<bigint> {
    const loading = onChain(this.options.provider.getNetwork()).then((network) => network.chainId);
    loading.catch(() => (this.chainId = undefined));
    return loading;
  }
}

function normalize(request: TransactionRequest) {
  if (!request.kind) throw new TypeError("A chain transaction needs a kind");
  if (!isHexString(request.data) || request.data.length % 2 !== 0) throw new TypeError("Calldata must be 0x-prefixed hex bytes");
  const value = request.value ?? 0n;
  if (value < 0n) throw new TypeError("A transaction value cannot be negative");
  return { kind: request.kind, ref: request.ref ?? null, to: getAddress(request.to), data: request.data.toLowerCase(), value: value.toString() };
}
