import { Column, Entity, PrimaryColumn } from "typeorm";

/** A one-time sign-in nonce. A nonce is consumed by stamping `usedAt`, never reused. */
@Entity("auth_nonces")
export class AuthNonceEntity {
  @PrimaryColumn({ type: "text" })
  nonce!: string;

  @Column({ type: "text" })
  address!: string;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt!: Date;

  @Column({ name: "used_at", type: "timestamptz", nullable: true })
  usedAt!: Date | null;
}
