import { Column, Entity, PrimaryColumn } from "typeorm";

/** The name the registry's admin gave an institution account. The chain holds only the account and its role. */
@Entity("institution_names")
export class InstitutionNameEntity {
  /** Lower-case account address. */
  @PrimaryColumn({ type: "text" })
  address!: string;

  @Column({ type: "text" })
  name!: string;

  /** The name folded for uniqueness: one name, one account, whatever its case and spacing. */
  @Column({ name: "name_key", type: "text" })
  nameKey!: string;

  /** The admin or registrar who gave the name. */
  @Column({ name: "registered_by", type: "text" })
  registeredBy!: string;

  @Column({ name: "registered_at", type: "timestamptz" })
  registeredAt!: Date;

  @Column({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;
}
