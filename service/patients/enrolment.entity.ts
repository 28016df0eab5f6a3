import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique } from "typeorm";

export interface PatientIdentifier {
  system: string;
  value: string;
}

/** A patient account linked to a custodian institution's local identifiers (never on chain). */
@Entity("patient_enrolments")
@Unique(["patient", "custodian"])
export class EnrolmentEntity {
  @PrimaryColumn({ type: "uuid", default: () => "gen_random_uuid()" })
  id!: string;

  @Column({ type: "text" })
  patient!: string;

  @Column({ type: "text" })
  custodian!: string;

  /** Keyed hashes of the identifiers (IdentifierKeys): what lookups match; the identifiers are not stored in the clear. */
  @Column({ name: "identifier_keys", type: "text", array: true })
  identifierKeys!: string[];

  /** The identifiers, sealed under the patient's data key: erasure shreds them with the records. */
  @Column({ name: "identifiers_sealed", type: "bytea", nullable: true })
  identifiersSealed!: Buffer | null;

  @Column({ name: "identifiers_hash", type: "text" })
  identifiersHash!: string;

  @Column({ type: "text" })
  signature!: string;

  @CreateDateColumn({ name: "enrolled_at", type: "timestamptz" })
  enrolledAt!: Date;
}
