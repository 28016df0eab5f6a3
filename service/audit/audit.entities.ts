import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";
import { bigintAsNumber } from "../database/transformers";

/** One access, as anchored (docs/access-trail.md), plus unanchored context for the trail's readers. */
@Entity("access_events")
export class AccessEventEntity {
  @PrimaryColumn({ type: "bigint", transformer: bigintAsNumber })
  seq!: number;

  @Column({ type: "uuid", unique: true })
  id!: string;

  @Column({ name: "time_ms", type: "bigint", transformer: bigintAsNumber })
  timeMs!: number;

  /** The trail format the leaf was written in (1: no requester in the leaf). */
  @Column({ type: "smallint" }) format!: 1 | 2;
  @Column({ type: "text" }) actor!: string;
  @Column({ type: "text" }) requester!: string;
  @Column({ type: "text" }) patient!: string;
  @Column({ type: "smallint" }) action!: number;
  @Column({ type: "integer" }) categories!: number;
  @Column({ type: "integer" }) purposes!: number;
  @Column({ type: "smallint" }) decision!: number;
  @Column({ name: "consent_id", type: "text" }) consentId!: string;
  @Column({ name: "request_hash", type: "text" }) requestHash!: string;
  @Column({ name: "prev_hash", type: "text" }) prevHash!: string;
  @Column({ type: "text" }) leaf!: string;

  @Column({ name: "batch_id", type: "bigint", nullable: true, transformer: bigintAsNumber })
  batchId!: number | null;

  @Column({ name: "resource_type", type: "text", nullable: true }) resourceType!: string | null;
  @Column({ name: "resource_id", type: "text", nullable: true }) resourceId!: string | null;
  /** Why a break-glass read was needed; shown to the patient, never anchored or logged. */
  @Column({ type: "text", nullable: true }) justification!: string | null;
}

/** The tail of the hash chain: one row, locked while a group of events is appended. */
@Entity("access_log_head")
export class AccessLogHeadEntity {
  @PrimaryColumn({ type: "smallint" }) id!: number;
  @Column({ name: "last_seq", type: "bigint", transformer: bigintAsNumber }) lastSeq!: number;
  @Column({ name: "last_leaf", type: "text" }) lastLeaf!: string;
}

export type AnchorBatchState = "built" | "submitted" | "confirmed";

/** A batch of events and its anchoring: built (root known) → submitted (transaction) → confirmed (on chain). */
@Entity("anchor_batches")
export class AnchorBatchEntity {
  @PrimaryColumn({ name: "batch_id", type: "bigint", transformer: bigintAsNumber }) batchId!: number;
  @Column({ name: "first_seq", type: "bigint", transformer: bigintAsNumber }) firstSeq!: number;
  @Column({ name: "last_seq", type: "bigint", transformer: bigintAsNumber }) lastSeq!: number;
  @Column({ type: "text" }) root!: string;
  @Column({ type: "text" }) state!: AnchorBatchState;
  @Column({ name: "break_glass", type: "boolean", default: false }) breakGlass!: boolean;
  @Column({ name: "tx_id", type: "text", nullable: true }) txId!: string | null;
  @Column({ name: "tx_hash", type: "text", nullable: true }) txHash!: string | null;
  @Column({ name: "block_number", type: "bigint", nullable: true, transformer: bigintAsNumber }) blockNumber!: number | null;
  @Column({ name: "anchored_at", type: "timestamptz", nullable: true }) anchoredAt!: Date | null;
  @Column({ name: "events_pruned_at", type: "timestamptz", nullable: true }) eventsPrunedAt!: Date | null;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
}
