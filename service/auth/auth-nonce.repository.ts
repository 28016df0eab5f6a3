import { Injectable } from "@nestjs/common";
import { DataSource, LessThan } from "typeorm";
import { AuthNonceEntity } from "./auth-nonce.entity";

@Injectable()
export class AuthNonceRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(nonce: string, address: string, expiresAt: Date): Promise<void> {
    await this.dataSource.getRepository(AuthNonceEntity).insert({ nonce, address: address.toLowerCase(), expiresAt, usedAt: null });
  }

  /**
   * Consumes the nonce if it was issued to `address`, is unused and unexpired — in one statement,
   * so two concurrent sign-ins with the same nonce cannot both succeed.
   */
  async consume(nonce: string, address: string, now: Date): Promise<"consumed" | "unknown" | "used" | "expired"> {
    const [rows] = (await this.dataSource.query(
      `UPDATE auth_nonces SET used_at = $3
        WHERE nonce = $1 AND address = $2 AND used_at IS NULL AND expires_at > $3
        RETURNING nonce`,
      [nonce, address.toLowerCase(), now],
    )) as [unknown[], number];
    if (rows.length === 1) return "consumed";
    const row = await this.dataSource.getRepository(AuthNonceEntity).findOneBy({ nonce, address: address.toLowerCase() });
    if (!row) return "unknown";
    return row.usedAt ? "used" : "expired";
  }

  async deleteExpiredBefore(cutoff: Date): Promise<void> {
    await this.dataSource.getRepository(AuthNonceEntity).delete({ expiresAt: LessThan(cutoff) });
  }
}
