import { bigintAsNumber } from "../database/transformers";
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

/**
 * The projection of one on-chain consent, rebuilt from ConsentRegistry events. Times are unix seconds
 * (block timestamps); `grantedBlock`/`grantedLogIndex` give the chain's grant order, which decides ties.
 */
@Entity("consents")
@Index(["patient", "grantedBlock", "grantedLogIndex"])
export class ConsentEntity {
  @PrimaryColumn({ name: "consent_id", type: "text" })
  consentId!: string;

  @Column({ type: "text" })
  patient!: string;

  @Column({ type: "text" })
  grantee!: string;

  @Column({ type: "integer" })
  categories!: number;

  @Column({ type: "integer" })
  purposes!: number;

  @Column({ type: "smallint" })
  effect!: number;

  @Column({ name: "valid_from", type: "bigint", transformer: bigintAsNumber })
  validFrom!: number;

  @Column({ name: "valid_until", type: "bigint", transformer: bigintAsNumber })
  validUntil!: number;

  @Column({ type: "text" })
  nonce!: string;

  @Column({ name: "granted_at", type: "bigint", transformer: bigintAsNumber })
  grantedAt!: number;

  @Column({ name: "granted_block", type: "bigint", transformer: bigintAsNumber })
  grantedBlock!: number;

  @Column({ name: "granted_log_index", type: "integer" })
  grantedLogIndex!: number;

  @Column({ name: "granted_tx", type: "text" })
  grantedTx!: string;

  @Column({ name: "revoked_at", type: "bigint", nullable: true, transformer: bigintAsNumber })
  revokedAt!: number | null;

  @Column({ name: "revoked_block", type: "bigint", nullable: true, transformer: bigintAsNumber })
  revokedBlock!: number | null;

  @Column({ name: "revoked_tx", type: "text", nullable: true })
  revokedTx!: string | null;
}
