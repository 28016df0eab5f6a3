import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The institution directory: the names the registry's admin gave institutions (the chain holds only their
 * accounts and roles). A name belongs to one account (compared case-insensitively through `name_key`).
 * The directory lists the latest role change per account for one role: index role events by role.
 */
export class InstitutionDirectory1764230000000 implements MigrationInterface {
  name = "InstitutionDirectory1764230000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE institution_names (
      address text PRIMARY KEY,
      name text NOT NULL,
      name_key text NOT NULL,
      registered_by text NOT NULL,
      registered_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT institution_names_address_lower CHECK (address = lower(address)),
      CONSTRAINT institution_names_name_key UNIQUE (name_key)
    )`);
    await q.query(`CREATE INDEX role_events_by_role ON role_events (role, account, block_number DESC, log_index DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX role_events_by_role`);
    await q.query(`DROP TABLE institution_names`);
  }
}
