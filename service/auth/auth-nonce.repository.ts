import { Injectable } from "@nestjs/common";
import { DataSource, LessThan } from "typeorm";
import { AuthNonceEntity } from "./auth-nonce.entity";

@Injectable()
export class AuthNonceRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a challenge, keeping at most `keepPerAddress` unanswered ones for its address (the newest). */
  async create(nonce: string, address: string, expiresAt: Date, keepPerAddress: number): Promise<void> {
    const owner = address.toLowerCase();
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(AuthNonceEntity).insert({ nonce, address: owner, expiresAt, usedAt: null });
      await m.query(
        `DELETE FROM auth_nonces WHERE nonce IN (
           SELECT nonce FROM auth_nonces WHERE address = $1 AND used_at IS NULL ORDER BY expires_at DESC OFFSET $2)`,
        [owner, keepPerAddress],
      );
    });
  }

  /** Unanswered, unexpired challenges. */
  async countOutstanding(now: Date): Promise<number> {
    const [row] = (await this.dataSource.query(`SELECT count(*)::int AS n FROM auth_nonces WHERE used_at IS NULL AND expires_at > $1`, [now])) as Array<{ n: number }>;
    return row.n;
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
