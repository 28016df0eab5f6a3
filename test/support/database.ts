import { Client } from "pg";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestDatabase {
  /** Settings for the service: a fresh PostgreSQL database, or nothing (PGlite in memory). */
  settings: { DATABASE_URL?: string; PGLITE_DATA_DIR?: string };
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file: a new PostgreSQL database when TEST_DATABASE_URL is set
 * (CI), otherwise PGlite — in memory, or on disk when it must outlive one service instance — so
 * `npm test` passes on a machine with only Node and npm.
 */
export async function testDatabase(options: { persistent?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl && !options.persistent) return { settings: {}, drop: async () => undefined };
  if (!adminUrl) {
    // On disk, so that it outlives one service instance (restart and crash tests).
    const dir = mkdtempSync(join(tmpdir(), "consentry-pglite-"));
    return { settings: { PGLITE_DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `consentry_t_${process.pid}_${randomBytes(4).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    settings: { DATABASE_URL: url.toString() },
    drop: () =>
      withClient(adminUrl, async (c) => {
        await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      }),
  };
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
