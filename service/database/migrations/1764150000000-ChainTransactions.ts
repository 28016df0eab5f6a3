import type { MigrationInterface, QueryRunner } from "typeorm";

export class ChainTransactions1764150000000 implements MigrationInterface {
  name = "ChainTransactions1764150000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_transactions (
        id bigserial PRIMARY KEY,
        signer text NOT NULL,
        kind text NOT NULL,
        ref text,
        to_address text NOT NULL,
        data text NOT NULL,
        value numeric(78, 0) NOT NULL DEFAULT 0,
        gas_limit bigint,
        nonce bigint,
        hash text,
        raw_tx text,
        state text NOT NULL DEFAULT 'created'
          CHECK (state IN ('created', 'sent', 'mined', 'confirmed', 'failed', 'replaced')),
        failure text CHECK (failure IN ('reverted', 'rejected', 'unavailable')),
        revert_data text,
        block_number bigint,
        block_hash text,
        gas_used bigint,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        replaced_by bigint REFERENCES chain_transactions (id),
        broadcast_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX chain_transactions_signer_state ON chain_transactions (signer, state)`);
    await q.query(`CREATE INDEX chain_transactions_kind_ref ON chain_transactions (kind, ref)`);
    await q.query(`CREATE UNIQUE INDEX chain_transactions_hash ON chain_transactions (hash)`);
    // Two live transactions of one signer can never share a nonce; if a bug tried, the write fails
    // instead of recording a double send.
    await q.query(`
      CREATE UNIQUE INDEX chain_transactions_signer_nonce_live ON chain_transactions (signer, nonce)
        WHERE state IN ('sent', 'mined', 'confirmed')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE chain_transactions`);
  }
}
