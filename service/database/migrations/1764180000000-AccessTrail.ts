import type { MigrationInterface, QueryRunner } from "typeorm";

export class AccessTrail1764180000000 implements MigrationInterface {
  name = "AccessTrail1764180000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE access_events (
      seq bigint PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      time_ms bigint NOT NULL,
      actor text NOT NULL,
      patient text NOT NULL,
      action smallint NOT NULL,
      categories integer NOT NULL,
      purposes integer NOT NULL,
      decision smallint NOT NULL,
      consent_id text NOT NULL,
      request_hash text NOT NULL,
      prev_hash text NOT NULL,
      leaf text NOT NULL,
      batch_id bigint,
      resource_type text,
      resource_id text,
      justification text
    )`);
    await q.query(`CREATE INDEX access_events_patient ON access_events (patient, seq)`);
    await q.query(`CREATE INDEX access_events_actor ON access_events (actor, seq)`);
    await q.query(`CREATE INDEX access_events_time ON access_events (time_ms)`);
    await q.query(`CREATE INDEX access_events_batch ON access_events (batch_id, seq)`);

    await q.query(`CREATE TABLE access_log_head (id smallint PRIMARY KEY CHECK (id = 1), last_seq bigint NOT NULL, last_leaf text NOT NULL)`);
    await q.query(`INSERT INTO access_log_head (id, last_seq, last_leaf) VALUES (1, 0, '0x${"00".repeat(32)}')`);

    await q.query(`CREATE TABLE anchor_batches (
      batch_id bigint PRIMARY KEY,
      first_seq bigint NOT NULL UNIQUE,
      last_seq bigint NOT NULL,
      root text NOT NULL,
      state text NOT NULL CHECK (state IN ('built', 'submitted', 'confirmed')),
      break_glass boolean NOT NULL DEFAULT false,
      tx_id text,
      tx_hash text,
      block_number bigint,
      anchored_at timestamptz,
      events_pruned_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX anchor_batches_state ON anchor_batches (state) WHERE state <> 'confirmed'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE anchor_batches`);
    await q.query(`DROP TABLE access_log_head`);
    await q.query(`DROP TABLE access_events`);
  }
}
