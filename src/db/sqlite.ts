import { Database as SqliteConnection } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import { assetPath } from "../assets.ts";
import type { Logger } from "../log/logger.ts";
import { lockDatabase } from "./lock.ts";
import { Mutex } from "../shared/mutex.ts";
import { type Database, type Executor, type OutboxWriter, TxScope } from "./database.ts";
import { sqliteSchema } from "./schema.sqlite.ts";

export const SQLITE_MIGRATIONS = assetPath("drizzle", "sqlite");

const BUSY_TIMEOUT_MS = 5000;
const MAX_BUSY_RETRIES = 5;

export interface SqliteOptions {
  path: string;
  logger: Logger;
  writeOutbox: OutboxWriter;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Who owns the database while it is open (named when another process is refused); default "serve". */
  owner?: string;
}

export interface SqliteDatabase extends Database {
  /** The raw connections, for the few things Drizzle does not do (backup, hot-path statements). */
  readonly writeConnection: SqliteConnection;
  readonly readConnection: SqliteConnection;
}

function configure(conn: SqliteConnection): void {
  conn.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  conn.exec("PRAGMA foreign_keys = ON");
  // FULL: a commit acknowledged to a caller survives power loss, not only a process crash.
  conn.exec("PRAGMA synchronous = FULL");
}

export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Opens the SQLite file with two connections: one for writes, serialised by a mutex so an async
 * transaction body never interleaves with another; one for reads, which in WAL mode sees only
 * committed data and never waits for the writer.
 */
export function openSqlite(opts: SqliteOptions): SqliteDatabase {
  const dir = opts.path.slice(0, opts.path.lastIndexOf("/")) || "/";
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    opts.logger.info("created data directory", { path: dir });
  }
  // One owner at a time (src/db/lock.ts): refuses to open beside a running service or a restore.
  const lock = lockDatabase(opts.path, opts.owner ?? "serve");
  let connections: ReturnType<typeof connect>;
  try {
    connections = connect(opts);
  } catch (err) {
    lock.release();
    throw err;
  }
  const { writeConnection, write, readConnection, read } = connections;

  const mutex = new Mutex();

  async function attempt<T>(fn: (tx: TxScope) => Promise<T>): Promise<T> {
    writeConnection.exec("BEGIN IMMEDIATE");
    const tx = new TxScope(write);
    let result: T;
    try {
      result = await fn(tx);
      if (tx.events.length > 0) await opts.writeOutbox(write, sqliteSchema, tx.events);
      writeConnection.exec("COMMIT");
    } catch (err) {
      if (writeConnection.inTransaction) writeConnection.exec("ROLLBACK");
      throw err;
    }
    tx.runCommitHooks((err) => opts.logger.error("after-commit hook failed", { error: err }));
    return result;
  }

  return {
    dialect: "sqlite",
    tables: sqliteSchema,
    read,
    writeConnection,
    readConnection,
    transact<T>(fn: (tx: TxScope) => Promise<T>): Promise<T> {
      return mutex.run(async () => {
        for (let retry = 0; ; retry++) {
          try {
            return await attempt(fn);
          } catch (err) {
            if (!isSqliteBusy(err) || retry >= MAX_BUSY_RETRIES) throw err;
            opts.logger.warn("database busy, retrying transaction", { retry: retry + 1 });
            await Bun.sleep(20 * 2 ** retry);
          }
        }
      });
    },
    async close() {
      await mutex.run(async () => {
        readConnection.close();
        writeConnection.close();
        lock.release();
      });
    },
  };
}

function connect(opts: SqliteOptions) {
  const fresh = !existsSync(opts.path);
  const writeConnection = new SqliteConnection(opts.path, { create: true, readwrite: true, strict: true });
  try {
    if (fresh) chmodSync(opts.path, 0o600);
    configure(writeConnection);
    writeConnection.exec("PRAGMA journal_mode = WAL");
    const write = drizzle({ client: writeConnection, schema: sqliteSchema }) as Executor;
    if (opts.migrate !== false) migrate(write, { migrationsFolder: SQLITE_MIGRATIONS });

    const readConnection = new SqliteConnection(opts.path, { readwrite: true, strict: true });
    configure(readConnection);
    readConnection.exec("PRAGMA query_only = ON");
    const read = drizzle({ client: readConnection, schema: sqliteSchema }) as Executor;
    return { writeConnection, write, readConnection, read };
  } catch (err) {
    writeConnection.close();
    throw err;
  }
}
