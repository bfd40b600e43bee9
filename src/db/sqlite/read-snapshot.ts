import type { Database as SqliteConnection } from "bun:sqlite";

/**
 * The read connection keeps one read transaction open between this process's commits. Starting
 * a read transaction per query costs file-lock system calls (~5 µs here, more than the query);
 * held, a query costs under 1 µs. It stays exact because this process is the only writer (the
 * lock file keeps others out; backup and export only read): the snapshot is renewed right after
 * every commit, before anyone is told of it, and released while a write runs so that a
 * checkpoint can always reset the WAL.
 */
export interface ReadSnapshot {
  /** Takes a snapshot now, unless one is held (or the database is closing). */
  hold(): void;
  /** Ends the held snapshot, if any. */
  release(): void;
  /** No snapshot is taken after this. */
  stop(): void;
}

export function readSnapshot(readConnection: SqliteConnection): ReadSnapshot {
  let held = false;
  let stopped = false;
  return {
    hold() {
      if (held || stopped) return;
      readConnection.exec("BEGIN");
      readConnection.query("SELECT 1 FROM sqlite_master LIMIT 1").get(); // takes the snapshot now
      held = true;
    },
    release() {
      if (!held) return;
      held = false;
      readConnection.exec("COMMIT");
    },
    stop() {
      stopped = true;
    },
  };
}
