import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

/**
 * created → sent → mined → confirmed, or → failed, or → replaced (another transaction took the nonce;
 * the request continues as the row named by `replacedBy`). A mined row may fall back to sent on a reorg.
 */
export type ChainTransactionState = "created" | "sent" | "mined" | "confirmed" | "failed" | "replaced";

/** Why a row failed: the contract reverted, the node refused it, or the chain stayed unreachable. */
export type ChainTransactionFailure = "reverted" | "rejected" | "unavailable";

/** One request to send a transaction from one of the service's keys, and everything known about its fate. */
@Entity("chain_transactions")
export class ChainTransactionEntity {
  // bigint columns come back as numbers: the data source sets parseInt8, and none can exceed 2^53.
  @PrimaryGeneratedColumn({ type: "bigint" })
  id!: number;

  /** Checksummed address of the sending key. */
  @Column({ type: "text" })
  signer!: string;

  /** What the transaction does, e.g. "consent.grant", "ledger.anchor". */
  @Column({ type: "text" })
  kind!: string;

  /** The caller's identifier for the request (a consent id, a batch id), for idempotent look-ups. */
  @Column({ type: "text", nullable: true })
  ref!: string | null;

  @Column({ name: "to_address", type: "text" })
  to!: string;

  @Column({ type: "text" })
  data!: string;

  /** Wei, as a decimal string. */
  @Column({ type: "numeric", precision: 78, scale: 0, default: 0 })
  value!: string;

  @Column({ name: "gas_limit", type: "bigint", nullable: true })
  gasLimit!: number | null;

  @Column({ type: "bigint", nullable: true })
  nonce!: number | null;

  @Column({ type: "text", nullable: true })
  hash!: string | null;

  /** The signed transaction, kept so a transaction the node forgot is re-sent byte for byte, never re-signed. */
  @Column({ name: "raw_tx", type: "text", nullable: true })
  rawTx!: string | null;

  @Column({ type: "text", default: "created" })
  state!: ChainTransactionState;

  @Column({ type: "text", nullable: true })
  failure!: ChainTransactionFailure | null;

  /** The revert data the contract returned, decoded again with the ABIs when the error is rebuilt. */
  @Column({ name: "revert_data", type: "text", nullable: true })
  revertData!: string | null;

  @Column({ name: "block_number", type: "bigint", nullable: true })
  blockNumber!: number | null;

  @Column({ name: "block_hash", type: "text", nullable: true })
  blockHash!: string | null;

  @Column({ name: "gas_used", type: "bigint", nullable: true })
  gasUsed!: number | null;

  /** Tries so far: pipeline passes (estimate → sign → broadcast) and re-broadcasts. */
  @Column({ type: "integer", default: 0 })
  attempts!: number;

  /** The latest error, one line, never calldata or secrets. */
  @Column({ name: "last_error", type: "text", nullable: true })
  lastError!: string | null;

  @Column({ name: "replaced_by", type: "bigint", nullable: true })
  replacedBy!: number | null;

  /** When the raw transaction last went to the node; a forgotten one is re-sent after TX_REBROADCAST_MS. */
  @Column({ name: "broadcast_at", type: "timestamptz", nullable: true })
  broadcastAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;
}
