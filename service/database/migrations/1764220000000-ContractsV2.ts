import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Contracts v2 decide with institution membership at the instant decided: role events keep their block's
 * timestamp. The projection is derived from the chain, so it is emptied and indexed again from the
 * deployment block rather than patched.
 */
export class ContractsV21764220000000 implements MigrationInterface {
  name = "ContractsV21764220000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM consents`);
    await q.query(`DELETE FROM role_events`);
    await q.query(`DELETE FROM indexed_blocks`);
    await q.query(`DELETE FROM indexer_state`);
    await q.query(`ALTER TABLE role_events ADD COLUMN block_timestamp bigint NOT NULL`);
    await q.query(`CREATE INDEX role_events_at ON role_events (role, account, block_timestamp)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX role_events_at`);
    await q.query(`ALTER TABLE role_events DROP COLUMN block_timestamp`);
  }
}
