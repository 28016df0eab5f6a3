/** The transaction manager's public surface; other modules import from here. */
export { ChainTransactionEntity, type ChainTransactionFailure, type ChainTransactionState } from "./chain-transaction.entity";
export {
  ChainError,
  ChainUnavailableError,
  TransactionRejectedError,
  TransactionRevertedError,
  TransactionTimeoutError,
} from "./chain-errors";
export { SIGNER_LOCK_PREFIX, TransactionManager, type TransactionManagerOptions, type TransactionRequest } from "./transaction-manager";
export * from "./transaction-policy";
export { TrackedTransaction, type TransactionOutcome, type WaitOptions } from "./tracked-transaction";
export { TransactionService, type SignerRole } from "./transaction.service";
