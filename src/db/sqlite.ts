import { Database as SqliteConnection } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import { assetPath } from "../assets.ts";
import type { Logger } from "../log/logger.ts";
import { type Database, type Executor, type OutboxWriter, TxScope } from "./database.ts";
import { createLocalBus } from "./invalidation.ts";
import { lockDatabase } from "./lock.ts";
import { sqliteSchema } from "./schema.sqlite.ts";
import { statisticsSchedule } from "./statistics.ts";

export const SQLITE_MIGRATIONS = assetPath("drizzle", "sqlite");

/**
 * The read connection may wait this long for a lock inside SQLite (rare in WAL mode). The write
 * connection never waits inside SQLite — that would block the whole event loop — it gets
 * SQLITE_BUSY at once and the transaction is retried with async backoff within BUSY_BUDGET_MS.
 */
const BUSY_TIMEOUT_MS = 5000;
const BUSY_BUDGET_MS = 10_000;
/** Upper bound of transactions committed together (keeps one COMMIT from growing without limit). */
const MAX_BATCH = 256;

export interface SqliteOptions {
  path: string;
  logger: Logger;
  writeOutbox: OutboxWriter;
  /**
   * Called after each commit that wrote events, with how many: wakes the publisher, so it never
   * has to poll the outbox hot. Runs after the commit hooks; an exception is logged, never thrown.
   */
  onEventsCommitted?: (count: number) => void;
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

export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Opens the SQLite file with two connections: one for writes, where transactions run one after the
 * other (an async transaction body never interleaves with another); one for reads, which in WAL
 * mode sees only committed data and never waits for the writer.
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
  const bus = createLocalBus(opts.logger);

  // The read connection keeps one read transaction open between this process's commits. Starting
  // a read transaction per query costs file-lock system calls (~5 µs here, more than the query);
  // held, a query costs under 1 µs. It stays exact because this process is the only writer (the
  // lock file keeps others out; backup and export only read): the snapshot is renewed right after
  // every commit, before anyone is told of it, and released while a write runs so that a
  // checkpoint can always reset the WAL.
  let snapshotHeld = false;
  const holdSnapshot = () => {
    if (snapshotHeld || closed) return;
    readConnection.exec("BEGIN");
    readConnection.query("SELECT 1 FROM sqlite_master LIMIT 1").get(); // takes the snapshot now
    snapshotHeld = true;
  };
  const releaseSnapshot = () => {
    if (!snapshotHeld) return;
    snapshotHeld = false;
    readConnection.exec("COMMIT");
  };

  // Group commit: transactions that queue up while one batch runs are executed together, each in
  // its own SAVEPOINT (a failure rolls back only its own work), under one BEGIN IMMEDIATE … COMMIT,
  // so one fsync acknowledges many writes. Nobody's promise resolves before that COMMIT.
  interface Job {
    fn: (tx: TxScope) => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (err: unknown) => void;
  }
  const queue: Job[] = [];
  const stats = { transactions: 0, commits: 0 };
  let draining: Promise<void> | undefined;
  let closed = false;

  async function runBatch(batch: Job[]): Promise<void> {
    const started = performance.now();
    for (let retry = 0; ; retry++) {
      const done: { job: Job; tx: TxScope; value: unknown }[] = [];
      const failed: { job: Job; err: unknown }[] = [];
      try {
        releaseSnapshot();
        writeConnection.exec("BEGIN IMMEDIATE");
        for (const job of batch) {
          writeConnection.exec("SAVEPOINT job");
          const tx = new TxScope(write);
          try {
            const value = await job.fn(tx);
            if (tx.events.length > 0) await opts.writeOutbox(write, sqliteSchema, tx.events);
            writeConnection.exec("RELEASE job");
            done.push({ job, tx, value });
          } catch (err) {
            writeConnection.exec("ROLLBACK TO job");
            writeConnection.exec("RELEASE job");
            if (isSqliteBusy(err)) throw err;
            failed.push({ job, err });
          }
        }
        writeConnection.exec("COMMIT");
        holdSnapshot(); // before any caller or hook can read
        statistics.committed(done.length);
        stats.commits++;
        stats.transactions += done.length;
      } catch (err) {
        if (writeConnection.inTransaction) writeConnection.exec("ROLLBACK");
        holdSnapshot();
        if (isSqliteBusy(err) && performance.now() - started < BUSY_BUDGET_MS) {
          if (retry % 10 === 0) opts.logger.warn("database busy (another process holds the write lock), retrying", { retry: retry + 1, batch: batch.length });
          await Bun.sleep(Math.min(5 * 2 ** retry, 200));
          continue;
        }
        for (const job of batch) job.reject(err);
        return;
      }
      for (const f of failed) f.job.reject(f.err);
      let events = 0;
      for (const d of done) {
        d.tx.runCommitHooks((err) => opts.logger.error("after-commit hook failed", { error: err }));
        bus.afterCommit(d.tx.invalidations);
        events += d.tx.events.length;
        d.job.resolve(d.value);
      }
      if (events > 0 && opts.onEventsCommitted) {
        try {
          opts.onEventsCommitted(events);
        } catch (err) {
          opts.logger.error("events-committed notification failed", { error: err });
        }
      }
      return;
    }
  }

  // A transaction body runs without a macrotask boundary (SQLite answers synchronously) and COMMIT
  // blocks until fsync, so requests that arrive meanwhile are only read once the batch is done. One
  // event-loop turn before each batch lets them reach transact() and join it.
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  async function drain(): Promise<void> {
    await nextTurn();
    while (queue.length > 0) {
      await runBatch(queue.splice(0, MAX_BATCH));
      await nextTurn();
    }
    draining = undefined;
    statistics.check();
  }

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
  holdSnapshot();
  const statistics = statisticsSchedule(
    () => {
      releaseSnapshot();
      optimize();
      holdSnapshot();
    },
    () => draining !== undefined,
  );

  return {
    dialect: "sqlite",
    tables: sqliteSchema,
    read,
    bus,
    writeConnection,
    readConnection,
    stats,
    transact<T>(fn: (tx: TxScope) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new Error("database is closed"));
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        draining ??= drain();
      });
    },
    async close() {
      closed = true;
      await draining;
      await statistics.close();
      await bus.close();
      releaseSnapshot();
      // Open statements would keep the connections alive past close(): the last close could not
      // checkpoint, and the WAL would stay beside a database that looks complete but is not.
      for (const conn of [readConnection, writeConnection]) finalizers.get(conn)?.();
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

/**
 * A read-only view of a SQLite database that another process may be writing (the service):
 * no lock, no migrations, no writes. `export` reads through it inside one read transaction
 * (`snapshotOf`), which in WAL mode is a consistent snapshot that never blocks the writer.
 */
export function openSqliteReader(path: string, logger: Logger): SqliteDatabase {
  const conn = new SqliteConnection(path, { readonly: true, strict: true });
  conn.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const read = drizzle({ client: conn, schema: sqliteSchema }) as Executor;
  const bus = createLocalBus(logger);
  return {
    dialect: "sqlite",
    tables: sqliteSchema,
    read,
    bus,
    writeConnection: conn,
    readConnection: conn,
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

/**
 * The connection as Drizzle sees it, with compiled statements reused: Drizzle prepares a new
 * statement for every query it runs, and compiling one costs as much as running a small insert.
 * Sharing a Statement is safe here because every use of it (run/all/values/get) completes
 * synchronously. Bounded, as bulk inserts produce one SQL text per row count.
 *
 * A statement leaving the cache is not finalized: a Drizzle `.prepare()`d query (the hot-path
 * lookups) holds the Statement it got here for the life of the process, and finalizing it would
 * break that query for good. An evicted statement is freed by the garbage collector once nothing
 * holds it; close() finalizes the ones still alive, so the file closes cleanly.
 */
/** Finalizes every cached statement of a connection (before closing it, see close()). */
const finalizers = new WeakMap<SqliteConnection, () => void>();

type Statement = ReturnType<SqliteConnection["prepare"]>;

function withStatementCache(conn: SqliteConnection, max = 256): SqliteConnection {
  const cache = new Map<string, Statement>();
  let evicted: WeakRef<Statement>[] = [];
  finalizers.set(conn, () => {
    for (const stmt of cache.values()) stmt.finalize();
    for (const ref of evicted) ref.deref()?.finalize();
    cache.clear();
    evicted = [];
  });
  const prepare = (sqlText: string) => {
    let stmt = cache.get(sqlText);
    if (stmt) {
      cache.delete(sqlText); // most recently used goes last
    } else {
      stmt = conn.prepare(sqlText);
      if (cache.size >= max) {
        const [oldest, old] = cache.entries().next().value!;
        cache.delete(oldest);
        if (evicted.length >= max) evicted = evicted.filter((ref) => ref.deref() !== undefined);
        evicted.push(new WeakRef(old));
      }
    }
    cache.set(sqlText, stmt);
    return stmt;
  };
  return new Proxy(conn, {
    get(target, prop) {
      if (prop === "prepare") return prepare;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function connect(opts: SqliteOptions) {
  const fresh = !existsSync(opts.path);
  const writeConnection = new SqliteConnection(opts.path, { create: true, readwrite: true, strict: true });
  try {
    if (fresh) chmodSync(opts.path, 0o600);
    configure(writeConnection, BUSY_TIMEOUT_MS); // start-up may wait; nothing else runs yet
    writeConnection.exec("PRAGMA journal_mode = WAL");
    const write = drizzle({ client: withStatementCache(writeConnection), schema: sqliteSchema }) as Executor;
    if (opts.migrate !== false) migrate(write, { migrationsFolder: SQLITE_MIGRATIONS });
    writeConnection.exec("PRAGMA busy_timeout = 0");
    writeConnection.exec(`PRAGMA cache_size = -${WRITE_CACHE_KIB}`);
    writeConnection.exec("PRAGMA analysis_limit = 1000");

    const readConnection = new SqliteConnection(opts.path, { readwrite: true, strict: true });
    configure(readConnection, BUSY_TIMEOUT_MS);
    readConnection.exec("PRAGMA query_only = ON");
    readConnection.exec(`PRAGMA cache_size = -${READ_CACHE_KIB}`);
    const read = drizzle({ client: withStatementCache(readConnection), schema: sqliteSchema }) as Executor;
    return { writeConnection, write, readConnection, read };
  } catch (err) {
    writeConnection.close();
    throw err;
  }
}
