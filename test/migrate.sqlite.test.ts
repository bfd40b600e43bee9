import { Database as Sqlite } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import { migrateSqlite } from "../src/db/sqlite/migrate.ts";
import { SQLITE_MIGRATIONS } from "../src/db/sqlite/open.ts";
import { tempDir } from "./helpers/service.ts";

/**
 * The service migrates SQLite with its own copy of Drizzle's migrator (src/db/sqlite/migrate.ts,
 * issue #14: start-up). Both must leave the same database — the schema as sqlite_master has it,
 * word for word, and the bookkeeping rows — from empty, from a database Drizzle migrated part of
 * the way (an older version's), and when there is nothing left to apply; and fail the same way.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The migration folder with only the first `n` migrations (what an older version shipped). */
function firstMigrations(n: number): string {
  const out = tempDir("mgc-first-migrations-");
  dirs.push(out);
  cpSync(SQLITE_MIGRATIONS, out, { recursive: true });
  const journalPath = join(out, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  for (const e of journal.entries.slice(n)) rmSync(join(out, `${e.tag}.sql`));
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, n) }));
  return out;
}

const byDrizzle = (conn: Sqlite, folder: string) => migrate(drizzle({ client: conn }), { migrationsFolder: folder });
const state = (conn: Sqlite) => ({
  schema: conn.query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all(),
  migrations: conn.query('SELECT id, hash, created_at, typeof(created_at) AS t FROM "__drizzle_migrations" ORDER BY rowid').all(),
});
const journalLength = (JSON.parse(readFileSync(join(SQLITE_MIGRATIONS, "meta", "_journal.json"), "utf8")) as { entries: unknown[] }).entries.length;

test("from empty, part of the way and up to date: the same database as Drizzle's migrator", () => {
  for (const done of [0, 1, 3, journalLength - 1, journalLength]) {
    const theirs = new Sqlite(":memory:");
    const ours = new Sqlite(":memory:");
    for (const conn of [theirs, ours]) if (done > 0) byDrizzle(conn, firstMigrations(done));
    byDrizzle(theirs, SQLITE_MIGRATIONS);
    migrateSqlite(ours, SQLITE_MIGRATIONS);
    expect(state(ours)).toEqual(state(theirs));
    expect(state(ours).migrations).toHaveLength(journalLength);
    // and again: nothing to apply, nothing changes
    migrateSqlite(ours, SQLITE_MIGRATIONS);
    expect(state(ours)).toEqual(state(theirs));
    theirs.close();
    ours.close();
  }
});

test("a statement that fails: the same error, and nothing of the batch stays", () => {
  const broken = firstMigrations(journalLength);
  const last = JSON.parse(readFileSync(join(broken, "meta", "_journal.json"), "utf8")).entries.at(-1).tag;
  // Two chunks more: one with two statements (both migrators prepare and run only the first), and
  // one that fails — the transaction of the whole batch is rolled back.
  const sql = readFileSync(join(broken, `${last}.sql`), "utf8");
  writeFileSync(
    join(broken, `${last}.sql`),
    `${sql}\n--> statement-breakpoint\nCREATE TABLE twice (x);\nCREATE TABLE twice (x);\n--> statement-breakpoint\nINSERT INTO no_such_table VALUES (1);`,
  );
  const errors: unknown[] = [];
  const states: unknown[] = [];
  for (const apply of [(c: Sqlite) => byDrizzle(c, broken), (c: Sqlite) => migrateSqlite(c, broken)]) {
    const conn = new Sqlite(":memory:");
    byDrizzle(conn, firstMigrations(2));
    try {
      apply(conn);
    } catch (err) {
      errors.push([(err as Error).constructor.name, (err as Error).message, String((err as Error).cause)]);
    }
    states.push(state(conn));
    conn.close();
  }
  expect(errors).toHaveLength(2);
  expect(errors[1]).toEqual(errors[0]);
  expect(states[1]).toEqual(states[0]);
});
