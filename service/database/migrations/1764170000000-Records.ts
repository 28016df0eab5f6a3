import type { MigrationInterface, QueryRunner } from "typeorm";

/** Encrypted FHIR records (docs/architecture.md §7): per-patient wrapped data keys, record heads, and every version's ciphertext. */
export class Records1764170000000 implements MigrationInterface {
  name = "Records1764170000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE record_keys (
      patient text PRIMARY KEY,
      wrapped_key bytea NOT NULL,
      key_version integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);

    // Foreign keys without cascade: a key cannot be dropped while records still need it, and erasure
    // deletes versions, heads and key explicitly, in one transaction.
    await q.query(`CREATE TABLE records (
      resource_type text NOT NULL,
      id text NOT NULL,
      patient text NOT NULL REFERENCES record_keys (patient),
      custodian text NOT NULL,
      category smallint NOT NULL CHECK (category BETWEEN 0 AND 255),
      version_id integer NOT NULL CHECK (version_id >= 0),
      last_updated timestamptz NOT NULL,
      PRIMARY KEY (resource_type, id)
    )`);
    await q.query(`CREATE INDEX records_patient_type ON records (patient, resource_type, last_updated DESC)`);

    await q.query(`CREATE TABLE record_versions (
      resource_type text NOT NULL,
      id text NOT NULL,
      version_id integer NOT NULL CHECK (version_id >= 1),
      patient text NOT NULL REFERENCES record_keys (patient),
      custodian text NOT NULL,
      category smallint NOT NULL CHECK (category BETWEEN 0 AND 255),
      last_updated timestamptz NOT NULL,
      iv bytea NOT NULL CHECK (octet_length(iv) = 12),
      auth_tag bytea NOT NULL CHECK (octet_length(auth_tag) = 16),
      ciphertext bytea NOT NULL,
      PRIMARY KEY (resource_type, id, version_id),
      FOREIGN KEY (resource_type, id) REFERENCES records (resource_type, id)
    )`);
    await q.query(`CREATE INDEX record_versions_patient ON record_versions (patient)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["record_versions", "records", "record_keys"]) await q.query(`DROP TABLE ${table}`);
  }
}
