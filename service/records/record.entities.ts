import { Column, Entity, PrimaryColumn } from "typeorm";

/**
 * A patient's data key, wrapped (AES-256-GCM) by the master key of version `keyVersion`. Deleting
 * this row is what makes the patient's records unreadable (crypto-shredding).
 */
@Entity("record_keys")
export class RecordKeyEntity {
  @PrimaryColumn({ type: "text" })
  patient!: string;

  /** iv (12) ‖ tag (16) ‖ wrapped key (32). */
  @Column({ name: "wrapped_key", type: "bytea" })
  wrappedKey!: Buffer;

  /** Which master key wrapped it, so the master key can be rotated one patient at a time. */
  @Column({ name: "key_version", type: "integer" })
  keyVersion!: number;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}

/** The current state of one record: who owns it, whose it is, and which version is the latest. Clear text, for queries. */
@Entity("records")
export class RecordEntity {
  @PrimaryColumn({ name: "resource_type", type: "text" })
  resourceType!: string;

  @PrimaryColumn({ type: "text" })
  id!: string;

  @Column({ type: "text" })
  patient!: string;

  @Column({ type: "text" })
  custodian!: string;

  /** The category bit (docs/architecture.md §4) of the latest version. */
  @Column({ type: "smallint" })
  category!: number;

  /** 0 only inside the transaction that creates the record, before its first version is appended. */
  @Column({ name: "version_id", type: "integer" })
  versionId!: number;

  @Column({ name: "last_updated", type: "timestamptz" })
  lastUpdated!: Date;
}

/** Every version of every record, its content sealed under the patient's data key. */
@Entity("record_versions")
export class RecordVersionEntity {
  @PrimaryColumn({ name: "resource_type", type: "text" })
  resourceType!: string;

  @PrimaryColumn({ type: "text" })
  id!: string;

  @PrimaryColumn({ name: "version_id", type: "integer" })
  versionId!: number;

  @Column({ type: "text" })
  patient!: string;

  @Column({ type: "text" })
  custodian!: string;

  @Column({ type: "smallint" })
  category!: number;

  @Column({ name: "last_updated", type: "timestamptz" })
  lastUpdated!: Date;

  @Column({ type: "bytea" })
  iv!: Buffer;

  @Column({ name: "auth_tag", type: "bytea" })
  authTag!: Buffer;

  @Column({ type: "bytea" })
  ciphertext!: Buffer;
}
