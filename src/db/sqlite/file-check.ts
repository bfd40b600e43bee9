import type { Database as SqliteConnection } from "bun:sqlite";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { MIGRATIONS_TABLE } from "../migrations.ts";

const SQLITE_MAGIC = "SQLite format 3\u0000";

/**
 * Before an existing file is opened as the database: SQLite would take a 0-byte file (a crash or
 * a full disk can leave one) as a new, empty database, and the service would start with no devices
 * at all. A file that is not SQLite is refused as well. A path with no file is a new database.
 */
export function checkExistingFile(path: string): void {
  const size = statSync(path).size;
  if (size === 0)
    throw new Error(
      `${path} is an empty file, not a magistrala-clients database (a crash or a full disk may have truncated it); move it away to start with a new database, or restore a backup`,
    );
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(16);
    if (readSync(fd, head, 0, 16, 0) < 16 || head.toString("latin1") !== SQLITE_MAGIC)
      throw new Error(`${path} is not an SQLite database; point MG_CLIENTS_DB_PATH at the service's database, or move the file away to start with a new one`);
  } finally {
    closeSync(fd);
  }
}

/** Once open: an SQLite database with tables but without this service's migrations table belongs to another program. */
export function checkOurs(conn: SqliteConnection, path: string): void {
  const tables = conn.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  if (tables.length > 0 && !tables.some((t) => t.name === MIGRATIONS_TABLE))
    throw new Error(`${path} is an SQLite database of another program (it has no ${MIGRATIONS_TABLE} table); point MG_CLIENTS_DB_PATH elsewhere`);
}
