import { bigintAsNumber } from "../database/transformers";
import { Column, Entity, PrimaryColumn } from "typeorm";

/** A role grant or revocation on the ConsentRegistry, in chain order; the latest per (role, account) wins. */
@Entity("role_events")
export class RoleEventEntity {
  @PrimaryColumn({ name: "block_number", type: "bigint", transformer: bigintAsNumber })
  blockNumber!: number;

  @PrimaryColumn({ name: "log_index", type: "integer" })
  logIndex!: number;

  @Column({ type: "text" })
  role!: string;

  @Column({ type: "text" })
  account!: string;

  @Column({ type: "boolean" })
  granted!: boolean;

  /** The block's timestamp: when the change took effect on chain (ConsentRegistry's membership record). */
  @Column({ name: "block_timestamp", type: "bigint", transformer: bigintAsNumber })
  blockTimestamp!: number;
}

/** A block the indexer processed; the chain of hashes lets it find the common ancestor after a reorg. */
@Entity("indexed_blocks")
export class IndexedBlockEntity {
  @PrimaryColumn({ type: "bigint", transformer: bigintAsNumber })
  number!: number;

  @Column({ type: "text" })
  hash!: string;

  @Column({ name: "parent_hash", type: "text" })
  parentHash!: string;
}

/** Where an indexer stands: the last processed block and when it last caught up with the head. */
@Entity("indexer_state")
export class IndexerStateEntity {
  @PrimaryColumn({ type: "text" })
  name!: string;

  @Column({ name: "block_number", type: "bigint", transformer: bigintAsNumber })
  blockNumber!: number;

  @Column({ name: "block_hash", type: "text" })
  blockHash!: string;

  /** Timestamp of the block under the cursor: decisions are never made for an earlier time. */
  @Column({ name: "block_timestamp", type: "bigint", transformer: bigintAsNumber })
  blockTimestamp!: number;

  @Column({ name: "head_number", type: "bigint", transformer: bigintAsNumber })
  headNumber!: number;

  @Column({ name: "caught_up_at", type: "timestamptz", nullable: true })
  caughtUpAt!: Date | null;

  @Column({ name: "polled_at", type: "timestamptz", nullable: true })
  polledAt!: Date | null;

  @Column({ name: "last_error", type: "text", nullable: true })
  lastError!: string | null;
}
