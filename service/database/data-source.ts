import type { DataSource, DataSourceOptions } from "typeorm";
import { Init1764140000000 } from "./migrations/1764140000000-Init";
import { ChainTransactions1764150000000 } from "./migrations/1764150000000-ChainTransactions";
import { ConsentLifecycle1764160000000 } from "./migrations/1764160000000-ConsentLifecycle";
import { Records1764170000000 } from "./migrations/1764170000000-Records";
import { AccessTrail1764180000000 } from "./migrations/1764180000000-AccessTrail";
import { TrailV2AppendOnly1764190000000 } from "./migrations/1764190000000-TrailV2AppendOnly";
import { RolesByAccount1764200000000 } from "./migrations/1764200000000-RolesByAccount";
import { PrivateIdentifiers1764210000000 } from "./migrations/1764210000000-PrivateIdentifiers";
import { ContractsV21764220000000 } from "./migrations/1764220000000-ContractsV2";
import { InstitutionDirectory1764230000000 } from "./migrations/1764230000000-InstitutionDirectory";
import { pgliteDriver } from "./pglite-driver";

/** Every migration in order. Schema changes happen here only; `synchronize` stays off. */
export const MIGRATIONS = [
  Init1764140000000,
  ChainTransactions1764150000000,
  ConsentLifecycle1764160000000,
  Records1764170000000,
  AccessTrail1764180000000,
  TrailV2AppendOnly1764190000000,
  RolesByAccount1764200000000,
  PrivateIdentifiers1764210000000,
  ContractsV21764220000000,
  InstitutionDirectory1764230000000,
];

export interface DatabaseSettings {
  DATABASE_URL?: string;
  PGLITE_DATA_DIR?: string;
}

/** PostgreSQL when DATABASE_URL is set, otherwise PGlite (in memory, or in PGLITE_DATA_DIR). */
export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  const common = {
    type: "postgres" as const,
    // Each feature module registers its own entities (TypeOrmModule.forFeature + autoLoadEntities), so this
    // layer knows none of them.
    entities: [],
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: "each" as const,
    synchronize: false,
    // Migrations own the schema (gen_random_uuid() is core since PostgreSQL 13). TypeORM would otherwise
    // try CREATE EXTENSION "uuid-ossp" for uuid columns: PGlite lacks it, and the PGlite pool's client
    // does not take the callback-style query TypeORM uses for it, so start-up would hang.
    installExtensions: false,
    parseInt8: true,
    // TypeORM would log a failed query with its parameters: patients, identifiers, event rows. The
    // service logs failures itself, without values.
    logging: false,
  };
  if (settings.DATABASE_URL) {
    return { ...common, url: settings.DATABASE_URL, extra: { max: 10, connectionTimeoutMillis: 5_000 } };
  }
  return { ...common, driver: pgliteDriver(settings.PGLITE_DATA_DIR ? { dataDir: settings.PGLITE_DATA_DIR } : {}) };
}

/**
 * Runs pending migrations while holding a PostgreSQL advisory lock, so instances (or workers) booting together
 * on a fresh database migrate one at a time: TypeORM's own migration run takes no lock, and two concurrent
 * runs collide (seen: a worker crashing on a duplicate CREATE TABLE). The others wait, then find nothing to do.
 * PGlite lives in one process and has one session, so it migrates without the lock.
 */
export async function migrateExclusively(dataSource: DataSource, settings: DatabaseSettings): Promise<DataSource> {
  try {
    if (!settings.DATABASE_URL) {
      await dataSource.runMigrations({ transaction: "each" });
      return dataSource;
    }
    const session = dataSource.createQueryRunner();
    await session.connect();
    try {
      await session.query(`SELECT pg_advisory_lock(hashtext('consentry:migrations'))`);
      await dataSource.runMigrations({ transaction: "each" });
    } finally {
      await session.query(`SELECT pg_advisory_unlock(hashtext('consentry:migrations'))`).catch(() => undefined);
      await session.release();
    }
    return dataSource;
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}
