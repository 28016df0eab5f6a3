import type { MigrationInterface, QueryRunner } from "typeorm";

export class ConsentLifecycle1764160000000 implements MigrationInterface {
  name = "ConsentLifecycle1764160000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth_nonces (
      nonce text PRIMARY KEY,
      address text NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`);
    await q.query(`CREATE INDEX auth_nonces_expires_at ON auth_nonces (expires_at)`);

    await q.query(`CREATE TABLE patient_enrolments (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      patient text NOT NULL,
      custodian text NOT NULL,
      identifiers jsonb NOT NULL,
      identifiers_hash text NOT NULL,
      signature text NOT NULL,
      enrolled_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT patient_enrolments_patient_custodian UNIQUE (patient, custodian)
    )`);
    await q.query(`CREATE INDEX patient_enrolments_identifiers ON patient_enrolments USING gin (identifiers jsonb_path_ops)`);

    await q.query(`CREATE TABLE consents (
      consent_id text PRIMARY KEY,
      patient text NOT NULL,
      grantee text NOT NULL,
      categories integer NOT NULL,
      purposes integer NOT NULL,
      effect smallint NOT NULL,
      valid_from bigint NOT NULL,
      valid_until bigint NOT NULL,
      nonce text NOT NULL,
      granted_at bigint NOT NULL,
      granted_block bigint NOT NULL,
      granted_log_index integer NOT NULL,
      granted_tx text NOT NULL,
      revoked_at bigint,
      revoked_block bigint,
      revoked_tx text
    )`);
    await q.query(`CREATE INDEX consents_patient_order ON consents (patient, granted_block, granted_log_index)`);
    await q.query(`CREATE INDEX consents_grantee ON consents (grantee)`);

    await q.query(`CREATE TABLE role_events (
      block_number bigint NOT NULL,
      log_index integer NOT NULL,
      role text NOT NULL,
      account text NOT NULL,
      granted boolean NOT NULL,
      PRIMARY KEY (block_number, log_index)
    )`);
    await q.query(`CREATE INDEX role_events_account ON role_events (role, account, block_number DESC, log_index DESC)`);

    await q.query(`CREATE TABLE indexed_blocks (number bigint PRIMARY KEY, hash text NOT NULL, parent_hash text NOT NULL)`);

    await q.query(`CREATE TABLE indexer_state (
      name text PRIMARY KEY,
      block_number bigint NOT NULL,
      block_hash text NOT NULL,
      block_timestamp bigint NOT NULL,
      head_number bigint NOT NULL,
      caught_up_at timestamptz,
      polled_at timestamptz,
      last_error text
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["indexer_state", "indexed_blocks", "role_events", "consents", "patient_enrolments", "auth_nonces"]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
