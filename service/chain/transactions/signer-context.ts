import type { LoggerService } from "@nestjs/common";
import type { Provider, Wallet } from "ethers";
import type { ChainTransactionRepository } from "./chain-transaction.repository";
import type { NonceAllocator } from "./nonce-allocator";
import type { TransactionTiming } from "./transaction-policy";

/** What the sender and the monitor of one signer share; the manager owns it. */
export interface SignerContext {
  readonly address: string;
  readonly wallet: Wallet;
  readonly provider: Provider;
  readonly repository: ChainTransactionRepository;
  readonly nonces: NonceAllocator;
  readonly timing: TransactionTiming;
  /** Blocks after the including block before a transaction counts as confirmed (config.CHAIN_CONFIRMATIONS). */
  readonly confirmations: number;
  readonly logger: LoggerService;
  chainId(): Promise<bigint>;
  /** Throws NotWriterError unless this instance still holds the signer's lease. */
  assertWriter(): void;
  /** Rows between being persisted as 'sent' and the outcome of their first broadcast (submit waits for that). */
  readonly broadcasting: Set<number>;
  /** The first broadcast of row `id` has an outcome (or was abandoned); wakes its waiters. */
  broadcastSettled(id: number): void;
  /** Waits `ms`; throws NotWriterError if the manager stops meanwhile. */
  sleep(ms: number): Promise<void>;
}

/** This instance is no longer (or not yet) the signer's writer: whatever it was doing must stop. */
export class NotWriterError extends Error {
  override name = "NotWriterError";
}
