import { Column, Entity, PrimaryColumn } from "typeorm";

/** Facts the database must remember about itself, such as the deployment it was first used with. */
@Entity("service_meta")
export class ServiceMetaEntity {
  @PrimaryColumn({ type: "text" })
  key!: string;

  @Column({ type: "text" })
  value!: string;
}
