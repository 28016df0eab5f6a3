import type { MigrationInterface, QueryRunner } from "typeorm";

/** Every authenticated request reads its caller's roles from the projection: index role events by account. */
export class RolesByAccount1764200000000 implements MigrationInterface {
  name = "RolesByAccount1764200000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX role_events_by_account ON role_events (account, role, block_number DESC, log_index DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX role_events_by_account`);
  }
}
