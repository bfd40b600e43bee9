import { Database as SqliteConnection } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { assetPath } from "../../assets.ts";
import type { Logger } from "../../log/logger.ts";
import type { DatabaseOf } from "../database.ts";
import type { SqliteExecutor, SqliteTables } from "../executors.ts";
import { createLocalBus } from "../invalidation/local.ts";
import { sqliteSchema } from "../schema/sqlite.ts";
import { statisticsSchedule } from "../statistics.ts";
import { storageFullGuard } from "../storage-full.ts";
import { CommitListeners } from "../transaction.ts";
import { checkExistingFile, checkOurs } from "./file-check.ts";
import { groupCommit } from "./group-commit.ts";
import { lockDatabase } from "./lock.ts";
import { migrateSqlite } from "./migrate.ts";
import { startPrewarm } from "./prewarm.ts";
import { readSnapshot } from "./read-snapshot.ts";
import { finalizeStatements, withStatementCache } from "./statement-cache.ts";

export const SQLITE_MIGRATIONS = assetPath("drizzle", "sqlite");

/**
 * The read connection may wait this long for a lock inside SQLite (rare in WAL mode). The write
 * connection never waits inside SQLite (src/db/sqlite/group-commit.ts retries instead).
 */
export const BUSY_TIMEOUT_MS = 5000;

export interface SqliteOptions {
  path: string;
  logger: Logger;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Who owns the database while it is open (named when another process is refused); default "serve". */
  owner?: string;
  /** Keep the auth path's pages in the OS page cache while open (src/db/sqlite/prewarm.ts); default false. */
  prewarm?: boolean;
}

export interface SqliteDatabase extends DatabaseOf<SqliteExecutor, SqliteTables> {
  readonly dialect: "sqlite";
  /** The raw connections, for the few things Drizzle does not do (backup, hot-path statements). */
  readonly writeConnection: SqliteConnection;
  readonly readConnection: SqliteConnection;
}

/**
 * Page cache per connection (KiB). Random-key index inserts (UUIDs, secret hashes) touch many
 * pages, but 8 MiB for the writer kept bulk create and POST at their figures (README
 * "Performance") while 16 MiB put the process past 160 MiB RSS at 100,000 clients.
 */
const WRITE_CACHE_KIB = 8 * 1024;
const READ_CACHE_KIB = 8 * 1024;

function configure(conn: SqliteConnection, busyTimeoutMs: number): void {
  conn.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  conn.exec("PRAGMA foreign_keys = ON");
  // FULL: a commit acknowledged to a caller survives power loss, not only a process crash.
  conn.exec("PRAGMA synchronous = FULL");
  // Savepoint sub-journals and temporary tables in memory, not in temp files (one per savepoint).
  conn.exec("PRAGMA temp_store = MEMORY");
}

/**
 * Opens the SQLite file with two connections: one for writes, where transactions are grouped into
 * commits (src/db/sqlite/group-commit.ts); one for reads, which in WAL mode sees only committed
 * data and never waits for the writer.
 */
export function openSqlite(opts: SqliteOptions): SqliteDatabase {
  const dir = opts.path.slice(0, opts.path.lastIndexOf("/")) || "/";
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    opts.logger.info("created data directory", { path: dir });
  }
  // One owner at a time (src/db/sqlite/lock.ts): refuses to open beside a running service or a restore.
  const lock = lockDatabase(opts.path, opts.owner ?? "serve");
  let connections: ReturnType<typeof connect>;
  try {
    connections = connect(opts);
  } catch (err) {
    lock.release();
    throw err;
  }
  const { writeConnection, cachedWrite, write, readConnection, read } = connections;
  const bus = createLocalBus(opts.logger);
  const storageFull = storageFullGuard(opts.logger);
  const commits = new CommitListeners(opts.logger);
  const snapshot = readSnapshot(readConnection);
  let closed = false;

  const writer = groupCommit({
    writeConnection: cachedWrite,
    write,
    tables: sqliteSchema,
    snapshot,
    statistics: () => statistics,
    bus,
    commits,
    logger: opts.logger,
  });

  // The query planner needs table statistics to drive a list from the connections index rather
  // than scan a domain's clients (100× faster at 100,000 clients). PRAGMA optimize gathers them
  // where the tables changed enough — at start-up and after writes (src/db/statistics.ts), never
  // inside a batch; analysis_limit bounds its cost to milliseconds.
  const optimize = (pragma = "PRAGMA optimize") => {
    try {
      writeConnection.exec(pragma);
    } catch (err) {
      opts.logger.warn("PRAGMA optimize failed", { error: err });
    }
  };
  optimize("PRAGMA optimize = 0x10002"); // at open: also the tables that have no statistics yet
  snapshot.hold();
  const prewarm = opts.prewarm ? startPrewarm({ path: opts.path, connection: readConnection, logger: opts.logger }) : undefined;
  const statistics = statisticsSchedule(
    () => {
      snapshot.release();
      optimize();
      snapshot.hold();
    },
    () => writer.busy,
  );

  return {
    dialect: "sqlite",
    tables: sqliteSchema,
    read,
    bus,
    writeConnection,
    readConnection,
    stats: writer.stats,
    onCommitted: (listener) => commits.add(listener),
    transact(fn) {
      if (closed) return Promise.reject(new Error("database is closed"));
      return writer.transact(fn).catch(storageFull);
    },
    async close() {
      closed = true;
      await prewarm?.stop();
      snapshot.stop();
      await writer.drained();
      await statistics.close();
      await bus.close();
      snapshot.release();
      for (const conn of [readConnection, writeConnection]) finalizeStatements(conn);
      readConnection.close();
      try {
        writeConnection.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch (err) {
        opts.logger.warn("checkpoint at close failed", { error: err });
      }
      writeConnection.close();
      lock.release();
    },
  };
}

function connect(opts: SqliteOptions) {
  const fresh = !existsSync(opts.path);
  if (!fresh) checkExistingFile(opts.path);
  const writeConnection = new SqliteConnection(opts.path, { create: true, readwrite: true, strict: true });
  try {
    if (fresh) chmodSync(opts.path, 0o600);
    else checkOurs(writeConnection, opts.path);
    configure(writeConnection, BUSY_TIMEOUT_MS); // start-up may wait; nothing else runs yet
    writeConnection.exec("PRAGMA journal_mode = WAL");
    if (opts.migrate !== false) migrateSqlite(writeConnection, SQLITE_MIGRATIONS);
    // Statements prepared through it are finalized at close (finalizeStatements), Drizzle's and the group commit's.
    const cachedWrite = withStatementCache(writeConnection);
    const write = drizzle({ client: cachedWrite, schema: sqliteSchema });
    writeConnection.exec("PRAGMA busy_timeout = 0");
    writeConnection.exec(`PRAGMA cache_size = -${WRITE_CACHE_KIB}`);
    writeConnection.exec("PRAGMA analysis_limit = 1000");

    const readConnection = new SqliteConnection(opts.path, { readwrite: true, strict: true });
    configure(readConnection, BUSY_TIMEOUT_MS);
    readConnection.exec("PRAGMA query_only = ON");
    readConnection.exec(`PRAGMA cache_size = -${READ_CACHE_KIB}`);
    const read = drizzle({ client: withStatementCache(readConnection), schema: sqliteSchema });
    return { writeConnection, cachedWrite, write, readConnection, read };
  } catch (err) {
    writeConnection.close();
    throw err;
  }
}
