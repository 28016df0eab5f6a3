import type { ChainTransactionEntity, ChainTransactionState } from "./chain-transaction.entity";
import {
  ChainUnavailableError,
  revertedError,
  TransactionRejectedError,
  TransactionRevertedError,
  type ChainError,
} from "./chain-errors";
import { TX_WAIT_TIMEOUT_MS } from "./transaction-policy";

export interface TransactionOutcome {
  hash: string;
  blockNumber: number;
  blockHash: string;
  gasUsed: bigint;
  state: "mined" | "confirmed";
}

export interface WaitOptions {
  /** Wait for CHAIN_CONFIRMATIONS blocks after inclusion, not just inclusion. Default false. */
  confirmed?: boolean;
  /** Default TX_WAIT_TIMEOUT_MS; on expiry a TransactionTimeoutError (the transaction may still land). */
  timeoutMs?: number;
}

/** Reads rows until `settle` accepts one, following replacements and throwing on failure. */
export interface TransactionWatcher {
  watch<T>(id: number, settle: (row: ChainTransactionEntity) => T | undefined, timeoutMs: number): Promise<T>;
}

/** A request handed to a TransactionManager, as its caller sees it. */
export class TrackedTransaction {
  /** `id` is the row the request was first recorded as; `row` the latest known (a replacement continues under another). */
  constructor(
    readonly id: number,
    private row: ChainTransactionEntity,
    private readonly watcher: TransactionWatcher,
  ) {}

  get kind(): string {
    return this.row.kind;
  }

  get ref(): string | null {
    return this.row.ref;
  }

  /** The hash of the latest signed transaction for this request, once sent. */
  get hash(): string | undefined {
    return this.row.hash ?? undefined;
  }

  get nonce(): number | undefined {
    return this.row.nonce ?? undefined;
  }

  /** The state when this object was obtained or last waited on. */
  get state(): ChainTransactionState {
    return this.row.state;
  }

  /**
   * Resolves once the request is mined (or confirmed, with `confirmed: true`) — following a replacement
   * to the transaction that was sent in its place — and rejects with the typed error if it failed.
   */
  async wait(options: WaitOptions = {}): Promise<TransactionOutcome> {
    const wanted: ChainTransactionState[] = options.confirmed ? ["confirmed"] : ["mined", "confirmed"];
    return this.watcher.watch(
      this.id,
      (row) => {
        if (!wanted.includes(row.state)) return undefined;
        this.row = row;
        return {
          hash: row.hash!,
          blockNumber: row.blockNumber!,
          blockHash: row.blockHash!,
          gasUsed: BigInt(row.gasUsed!),
          state: row.state as TransactionOutcome["state"],
        };
      },
      options.timeoutMs ?? TX_WAIT_TIMEOUT_MS,
    );
  }
}

/** The typed error a failed row stands for. */
export function errorOfFailedRow(row: ChainTransactionEntity): ChainError {
  switch (row.failure) {
    case "reverted":
      return row.revertData
        ? revertedError(row.revertData)
        : new TransactionRevertedError(undefined, [], "0x", `executing in block ${row.blockNumber}`);
    case "unavailable":
      return new ChainUnavailableError(row.lastError ?? "The chain was unreachable");
    default:
      return new TransactionRejectedError(row.lastError ?? "The node refused the transaction");
  }
}
