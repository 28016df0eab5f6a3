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

  @Column({ type: "jsonb" })
  identifiers!: PatientIdentifier[];

  @Column({ name: "identifiers_hash", type: "text" })
  identifiersHash!: string;

  @Column({ type: "text" })
  signature!: string;

  @CreateDateColumn({ name: "enrolled_at", type: "timestamptz" })
  enrolledAt!: Date;
}
