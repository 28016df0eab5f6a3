import type { MigrationInterface, QueryRunner } from "typeorm";

export class Init1764140000000 implements MigrationInterface {
  name = "Init1764140000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE service_meta (key text PRIMARY KEY, value text NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE service_meta`);
  }
}
