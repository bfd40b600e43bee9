import type { Database as SqliteConnection } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";

/** Drizzle's bookkeeping table: one row (hash, created_at = the journal's `when`) per applied migration. */
export const MIGRATIONS_TABLE = "__drizzle_migrations";

type MigrationState =
  /** recorded in the database with the same content hash */
  | "applied"
  /** the next `migrate` (or service start) applies it */
  | "pending"
  /** recorded, but the file's content changed since */
  | "modified"
  /** not recorded, yet older than the last recorded one: Drizzle will never apply it */
  | "skipped";

interface MigrationEntry {
  tag: string;
  /** The journal's `when` (milliseconds), which Drizzle records as `created_at`. */
  when: number;
  hash: string;
  state: MigrationState;
}

export interface MigrationStatus {
  entries: MigrationEntry[];
  /** Rows of the database that this build's journal does not know (written by a newer version). */
  unknown: { hash: string; when: number }[];
}

interface JournalEntry {
  tag: string;
  when: number;
}

/** The migrations this build carries, in order, with the content hash Drizzle records. */
export function knownMigrations(folder: string): { tag: string; when: number; hash: string }[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as { entries: JournalEntry[] };
  const files = readMigrationFiles({ migrationsFolder: folder });
  return journal.entries.map((e, i) => ({ tag: e.tag, when: e.when, hash: files[i]!.hash }));
}

/** The rows of the migrations table, or [] when the database has none (a fresh or foreign file). */
export function appliedMigrations(conn: SqliteConnection): { hash: string; when: number }[] {
  const table = conn.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATIONS_TABLE);
  if (!table) return [];
  const rows = conn.query(`SELECT hash, created_at FROM "${MIGRATIONS_TABLE}" ORDER BY created_at`).all() as { hash: string; created_at: number | string }[];
  return rows.map((r) => ({ hash: String(r.hash), when: Number(r.created_at) }));
}

/**
 * Compares the journal with what a database recorded, the way Drizzle's migrator decides: a
 * migration is pending when its `when` is later than the last recorded one.
 * `conn` undefined stands for a database that does not exist yet (everything pending).
 */
export function migrationStatus(conn: SqliteConnection | undefined, folder: string): MigrationStatus {
  return statusOf(conn ? appliedMigrations(conn) : [], folder);
}

/** The same comparison from the recorded rows, whichever database they come from. */
export function statusOf(applied: { hash: string; when: number }[], folder: string): MigrationStatus {
  const known = knownMigrations(folder);
  const last = applied.reduce((max, r) => Math.max(max, r.when), Number.NEGATIVE_INFINITY);
  const entries = known.map((m): MigrationEntry => {
    if (m.when > last) return { ...m, state: "pending" };
    const row = applied.find((r) => r.when === m.when);
    if (!row) return { ...m, state: "skipped" };
    return { ...m, state: row.hash === m.hash ? "applied" : "modified" };
  });
  const unknown = applied.filter((r) => !known.some((m) => m.when === r.when));
  return { entries, unknown };
}
