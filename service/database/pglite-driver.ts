import { EventEmitter } from "node:events";
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";
import { sqlText, type PreparedStatement } from "./prepared";

type Release = (error?: unknown) => void;
type ConnectCallback = (error: unknown, client: PGliteClient | null, release: Release) => void;

/**
 * A `pg`-compatible pool over one PGlite instance, for TypeORM's postgres driver.
 *
 * PGlite is a single session, so two TypeORM query runners must never interleave statements: one
 * runner's BEGIN would swallow another's writes. The pool therefore lends its only client to one
 * runner at a time and queues the rest until it is released — the same guarantee a real pool gives
 * by handing out separate sessions. (typeorm-pglite shares the session between runners.)
 */
export function pgliteDriver(options: PGliteOptions = {}): { Pool: new () => unknown; instance: () => Promise<PGlite> } {
  let db: Promise<PGlite> | undefined;
  const instance = (): Promise<PGlite> => {
    db ??= (async () => {
      const { PGlite, types } = await import("@electric-sql/pglite");
      const pg = await PGlite.create({
        // One session in one process: PostgreSQL's default 128 MB of shared buffers only costs memory here.
        // So do 16 MB WAL segments, which live in the in-memory file system: a new database gets 1 MB ones
        // (about 10 MB less resident at start). min_wal_size stays at twice 16 MB, the least PostgreSQL
        // accepts for a data directory (PGLITE_DATA_DIR) created before, with 16 MB segments.
        postgresqlconf: ["shared_buffers = 16MB", "min_wal_size = 32MB", "max_wal_size = 64MB"],
        initDbStartParams: ["--wal-segsize=1"],
        ...options,
        parsers: {
          // node-postgres returns bytea as Buffer; keep the two drivers interchangeable.
          [types.BYTEA]: (text: string) => Buffer.from(text.slice(2), "hex"),
          ...options.parsers,
        },
      });
      // Creating the database runs initdb in a WebAssembly instance of its own (about 300 MB) that is garbage
      // once the database is up; V8 would keep it until memory pressure. Collect it now where we may (--expose-gc).
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) setImmediate(gc); // after this turn, when initdb's instance is no longer referenced
      return pg;
    })();
    return db;
  };

  class PGlitePool extends EventEmitter {
    private readonly queue: Array<() => void> = [];
    private busy = false;

    connect(callback: ConnectCallback): void {
      const lend = () => {
        this.busy = true;
        instance().then(
          (pg) => callback(null, new PGliteClient(pg), () => this.release()),
          (error) => {
            this.release();
            callback(error, null, () => undefined);
          },
        );
      };
      if (this.busy) this.queue.push(lend);
      else lend();
    }

    private release(): void {
      const next = this.queue.shift();
      if (next) next();
      else this.busy = false;
    }

    end(callback: (error?: unknown) => void): void {
      if (!db) return callback();
      db.then((pg) => pg.close()).then(
        () => callback(),
        (error) => callback(error),
      );
      db = undefined;
    }
  }

  return { Pool: PGlitePool, instance };
}

interface QueryResult {
  rows: unknown[];
  rowCount: number;
  command: string;
}
type QueryCallback = (error: unknown, result?: QueryResult) => void;

class PGliteClient extends EventEmitter {
  constructor(private readonly pg: PGlite) {
    super();
  }

  query(sql: string | PreparedStatement, parameters?: unknown[] | QueryCallback, callback?: QueryCallback): Promise<QueryResult> | undefined {
    // node-postgres also takes (sql, callback) and (sql, params, callback); TypeORM uses both styles.
    const done = typeof parameters === "function" ? parameters : callback;
    const params = Array.isArray(parameters) ? parameters : undefined;
    // One session, planned per statement by PGlite itself: a prepared statement is run by its text.
    const result = this.run(sqlText(sql), params);
    if (!done) return result;
    result.then((r) => done(null, r), (error) => done(error));
    return undefined;
  }

  private async run(sql: string, parameters?: unknown[]): Promise<QueryResult> {
    if (parameters && parameters.length > 0) {
      const result = await this.pg.query(sql, parameters);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, command: commandOf(sql) };
    }
    // Parameterless statements may be several (migrations); TypeORM wants the last one's result.
    const results = await this.pg.exec(sql);
    const last = results[results.length - 1] ?? { rows: [], affectedRows: 0 };
    return { rows: last.rows, rowCount: last.affectedRows ?? last.rows.length, command: commandOf(sql) };
  }
}

function commandOf(sql: string): string {
  return (/^\s*(\w+)/.exec(sql)?.[1] ?? "").toUpperCase();
}
