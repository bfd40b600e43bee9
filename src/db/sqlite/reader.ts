import { Database as SqliteConnection } from "bun:sqlite";
import { drizzle } from "drizzle-orm/bun-sqlite";
import type { Logger } from "../../log/logger.ts";
import { createLocalBus } from "../invalidation/local.ts";
import { sqliteSchema } from "../schema/sqlite.ts";
import { CommitListeners } from "../transaction.ts";
import { BUSY_TIMEOUT_MS, type SqliteDatabase } from "./open.ts";

/**
 * A read-only view of a SQLite database that another process may be writing (the service):
 * no lock, no migrations, no writes. `export` reads through it inside one read transaction
 * (`snapshotOf`), which in WAL mode is a consistent snapshot that never blocks the writer.
 */
export function openSqliteReader(path: string, logger: Logger): SqliteDatabase {
  const conn = new SqliteConnection(path, { readonly: true, strict: true });
  conn.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const read = drizzle({ client: conn, schema: sqliteSchema });
  const bus = createLocalBus(logger);
  const commits = new CommitListeners(logger);
  return {
    dialect: "sqlite",
    tables: sqliteSchema,
    read,
    bus,
    writeConnection: conn,
    readConnection: conn,
    onCommitted: (listener) => commits.add(listener),
    transact: () => Promise.reject(new Error("the database is open read-only")),
    async close() {
      conn.close();
    },
  };
}

/** Runs `fn` inside one read transaction of the read connection: every read sees the same snapshot. */
export async function snapshotOf<T>(db: SqliteDatabase, fn: () => Promise<T>): Promise<T> {
  db.readConnection.exec("BEGIN");
  try {
    return await fn();
  } finally {
    db.readConnection.exec("COMMIT");
  }
}
