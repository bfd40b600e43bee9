import type { Database as SqliteConnection } from "bun:sqlite";
import { DrizzleError } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { MIGRATIONS_TABLE } from "../migrations.ts";

/** Drizzle's bookkeeping table, in the exact text its migrator creates it with (sqlite_master keeps it). */
const CREATE_MIGRATIONS_TABLE = `
			CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
				id SERIAL PRIMARY KEY,
				hash text NOT NULL,
				created_at numeric
			)
		`;

/**
 * Drizzle's SQLite migrator (drizzle-orm/bun-sqlite/migrator, sqlite-core's dialect.migrate) step
 * for step on the raw connection: the same bookkeeping table and rows (hash, created_at = the
 * journal's `when`), the same decision (a migration runs when its `when` is later than the last
 * recorded one), every pending one in one transaction, each statement prepared and run alone, a
 * failure reported as Drizzle reports it. Drizzle's own builds an SQL object, a query and a
 * tracing span per statement: a third of an empty database's migration time at start-up
 * (issue #14). test/migrate.sqlite.test.ts checks that both leave the same database.
 */
export function migrateSqlite(conn: SqliteConnection, migrationsFolder: string): void {
  const migrations = readMigrationFiles({ migrationsFolder });
  const run = (sql: string, params: (string | number)[] = []) => {
    let stmt: ReturnType<SqliteConnection["prepare"]> | undefined;
    try {
      stmt = conn.prepare(sql);
      stmt.run(...params);
    } catch (err) {
      throw new DrizzleError({ cause: err, message: `Failed to run the query '${sql}'` });
    } finally {
      stmt?.finalize();
    }
  };
  run(CREATE_MIGRATIONS_TABLE);
  const last = conn.prepare(`SELECT id, hash, created_at FROM "${MIGRATIONS_TABLE}" ORDER BY created_at DESC LIMIT 1`);
  const lastMigration = last.values()[0];
  last.finalize();
  run("BEGIN");
  try {
    for (const migration of migrations) {
      if (!lastMigration || Number(lastMigration[2]) < migration.folderMillis) {
        for (const stmt of migration.sql) run(stmt);
        run(`INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES(?, ?)`, [migration.hash, migration.folderMillis]);
      }
    }
    run("COMMIT");
  } catch (e) {
    run("ROLLBACK");
    throw e;
  }
}
