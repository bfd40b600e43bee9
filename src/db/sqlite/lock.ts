import { Database as SqliteConnection } from "bun:sqlite";
import { chmodSync, existsSync } from "node:fs";
import { isSqliteBusy } from "./busy.ts";

/**
 * One process at a time owns a SQLite database for writing: the service while it runs, `migrate`
 * and `restore` while they work. The owner holds a write (RESERVED) lock on `<db>.lock`, a tiny
 * SQLite file beside the database, for as long as it lives. SQLite takes that lock with fcntl, so
 * the kernel drops it when the process dies, however it dies: there is no stale lock to clean up.
 * The file's one table names the current owner, for the refusal message.
 */

const lockPathOf = (dbPath: string) => `${dbPath}.lock`;

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export class DatabaseInUseError extends Error {
  constructor(
    readonly dbPath: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder ? ` (${holder.command}, pid ${holder.pid}, since ${holder.since})` : "";
    super(`the database ${dbPath} is in use by another process${who}`);
    this.name = "DatabaseInUseError";
  }
}

export interface DatabaseLock {
  release(): void;
}

function readHolder(conn: SqliteConnection): LockHolder | undefined {
  try {
    return (conn.query("SELECT pid, command, since FROM holder LIMIT 1").get() as LockHolder | null) ?? undefined;
  } catch {
    return undefined; // the owner is between its two steps, or the file is older than the table
  }
}

/**
 * Takes the database's lock for `command` or throws DatabaseInUseError naming the owner.
 * Never waits: a second owner is a mistake to report, not a queue to join.
 */
export function lockDatabase(dbPath: string, command: string): DatabaseLock {
  const path = lockPathOf(dbPath);
  const fresh = !existsSync(path);
  const conn = new SqliteConnection(path, { create: true, readwrite: true });
  if (fresh) chmodSync(path, 0o600);
  try {
    conn.exec("PRAGMA busy_timeout = 0");
    // The file's content is informative only: no journal file, no fsync on the start-up path.
    conn.exec("PRAGMA journal_mode = MEMORY");
    conn.exec("PRAGMA synchronous = OFF");
    conn.exec("BEGIN IMMEDIATE");
    conn.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, command TEXT NOT NULL, since TEXT NOT NULL)");
    conn.exec("DELETE FROM holder");
    conn.query("INSERT INTO holder (pid, command, since) VALUES (?, ?, ?)").run(process.pid, command, new Date().toISOString());
    conn.exec("COMMIT");
    // Held until release or process exit. Losing a race between COMMIT and here is reported like
    // any other refusal; two owners are impossible because only this statement grants ownership.
    conn.exec("BEGIN IMMEDIATE");
  } catch (err) {
    if (conn.inTransaction) conn.exec("ROLLBACK");
    const holder = isSqliteBusy(err) ? readHolder(conn) : undefined;
    conn.close();
    if (isSqliteBusy(err)) throw new DatabaseInUseError(dbPath, holder);
    throw err;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      conn.exec("ROLLBACK");
      conn.close();
    },
  };
}
