import type { DataSourceOptions } from "typeorm";
import { Init1764140000000 } from "./migrations/1764140000000-Init";
import { ServiceMetaEntity } from "./service-meta.entity";
import { pgliteDriver } from "./pglite-driver";

/** Every entity, listed rather than globbed so the same list works from source and from dist/. */
export const ENTITIES = [ServiceMetaEntity];

/** Every migration in order. Schema changes happen here only; `synchronize` stays off. */
export const MIGRATIONS = [Init1764140000000];

export interface DatabaseSettings {
  DATABASE_URL?: string;
  PGLITE_DATA_DIR?: string;
}

/** PostgreSQL when DATABASE_URL is set, otherwise PGlite (in memory, or in PGLITE_DATA_DIR). */
export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  const common = {
    type: "postgres" as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: "each" as const,
    synchronize: false,
    parseInt8: true,
    logging: ["error" as const],
  };
  if (settings.DATABASE_URL) {
    return { ...common, url: settings.DATABASE_URL, extra: { max: 10, connectionTimeoutMillis: 5_000 } };
  }
  return { ...common, driver: pgliteDriver(settings.PGLITE_DATA_DIR ? { dataDir: settings.PGLITE_DATA_DIR } : {}) };
}

export const isEmbedded = (settings: DatabaseSettings): boolean => !settings.DATABASE_URL;
