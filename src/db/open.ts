import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { Database } from "./database.ts";
import type { PgExecutor, SqliteExecutor } from "./executors.ts";
import type { Executor } from "./portable.ts";
import type { PostgresDatabase } from "./postgres/open.ts";
import { openSqlite, type SqliteDatabase } from "./sqlite/open.ts";

/**
 * An adapter's database as repositories see it: the portable executor and tables
 * (src/db/portable.ts). One of the two adapters has exactly these types; the other's builder has
 * the same API, which the second type check (tsconfig.postgres.json) verifies the other way round.
 */
export function asDatabase(db: SqliteDatabase | PostgresDatabase): Database {
  return db as unknown as Database;
}

/** The same view of one executor (a transaction of an adapter's own). */
export function asExecutor(exec: SqliteExecutor | PgExecutor): Executor {
  return exec as unknown as Executor;
}

/**
 * The service's database as configured: Postgres when MG_CLIENTS_DB_DRIVER=postgres, else the
 * SQLite file MG_CLIENTS_DB_PATH.
 */
export async function openDatabase(settings: Config["db"], logger: Logger): Promise<Database> {
  if (settings.driver === "sqlite") return asDatabase(openSqlite({ path: settings.path, logger, prewarm: settings.prewarm }));
  // Imported here: on SQLite the service starts without the Postgres driver and schema (issue #14).
  const { openPostgres } = await import("./postgres/open.ts");
  return asDatabase(await openPostgres({ settings: settings.pg, logger }));
}
