import type { Database as SqliteConnection } from "bun:sqlite";

/** Finalizes every cached statement of a connection (before closing it, see finalizeStatements). */
const finalizers = new WeakMap<SqliteConnection, () => void>();

type Statement = ReturnType<SqliteConnection["prepare"]>;

/**
 * The connection as Drizzle sees it, with compiled statements reused: Drizzle prepares a new
 * statement for every query it runs, and compiling one costs as much as running a small insert.
 * Sharing a Statement is safe here because every use of it (run/all/values/get) completes
 * synchronously. Bounded, as bulk inserts produce one SQL text per row count.
 *
 * A statement leaving the cache is not finalized: a Drizzle `.prepare()`d query (the hot-path
 * lookups) holds the Statement it got here for the life of the process, and finalizing it would
 * break that query for good. An evicted statement is freed by the garbage collector once nothing
 * holds it; finalizeStatements finalizes the ones still alive, so the file closes cleanly.
 */
export function withStatementCache(conn: SqliteConnection, max = 256): SqliteConnection {
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

/**
 * Open statements would keep a connection alive past its close(): the last close could not
 * checkpoint, and the WAL would stay beside a database that looks complete but is not.
 */
export function finalizeStatements(conn: SqliteConnection): void {
  finalizers.get(conn)?.();
}
