import { Database as Sqlite } from "bun:sqlite";
import { describe, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres, { type Sql } from "postgres";
import { loadConfig } from "../../src/config/config.ts";
import type { Database } from "../../src/db/database.ts";
import { asDatabase } from "../../src/db/open.ts";
import { openPostgres } from "../../src/db/postgres/open.ts";
import { openSqlite } from "../../src/db/sqlite/open.ts";
import { silentLogger } from "../../src/log/logger.ts";

/**
 * Which database the tests run on: SQLite (default) or, with MG_TEST_DB=postgres, the machine's
 * Postgres (MG_TEST_PG_HOST/_PORT/_USER/_PASS, default 127.0.0.1:5432 postgres, trust auth).
 *
 * On Postgres every data directory a test uses gets its own fresh database, created on first use
 * with a name unique to this run (MG_TEST_PG_PREFIX, or one made up here) and dropped when the
 * test disposes of the service, and in any case when the run ends (test/helpers/setup.ts), failed
 * tests included. scripts/test.sh also drops whatever a crashed run left behind under its prefix.
 * A data directory still matters there: it holds the installation key and the standalone token.
 */
export type TestBackend = "sqlite" | "postgres";
export const TEST_DB: TestBackend = process.env.MG_TEST_DB === "postgres" ? "postgres" : "sqlite";
export const onPostgres = TEST_DB === "postgres";

export const PG = {
  host: process.env.MG_TEST_PG_HOST ?? "127.0.0.1",
  port: Number(process.env.MG_TEST_PG_PORT ?? 5432),
  user: process.env.MG_TEST_PG_USER ?? "postgres",
  pass: process.env.MG_TEST_PG_PASS ?? "",
  /** Where CREATE/DROP DATABASE are issued from. */
  adminDb: process.env.MG_TEST_PG_ADMIN_DB ?? "postgres",
};

/** Databases of this run start with it (lower case: Postgres folds unquoted names). */
const RUN_PREFIX = (process.env.MG_TEST_PG_PREFIX ?? `mgc_t_${randomBytes(4).toString("hex")}`).toLowerCase();

let admin: Sql | undefined;
const adminSql = () =>
  (admin ??= postgres({ host: PG.host, port: PG.port, user: PG.user, pass: PG.pass, database: PG.adminDb, max: 2, onnotice: () => undefined }));

let counter = 0;
const byDir = new Map<string, string>();

/** A new, empty database of this run. */
export async function createTestDatabase(label = "db"): Promise<string> {
  const name = `${RUN_PREFIX}_${label.replace(/[^a-z0-9_]/gi, "").toLowerCase()}_${++counter}`;
  await adminSql().unsafe(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`);
  return name;
}

async function dropTestDatabase(name: string): Promise<void> {
  await adminSql().unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  for (const [dir, db] of byDir) if (db === name) byDir.delete(dir);
}

/** Drops every database of this run (the end-of-run cleanup). */
export async function dropRunDatabases(always = false): Promise<string[]> {
  if (!always && !admin && byDir.size === 0 && counter === 0) return [];
  const rows = await adminSql()<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE ${`${RUN_PREFIX}\\_%`}`;
  for (const r of rows) await dropTestDatabase(r.datname);
  await admin?.end({ timeout: 5 });
  admin = undefined;
  return rows.map((r) => r.datname);
}

/** The MG_CLIENTS_DB_* settings of a Postgres database of this server. */
export function pgEnv(database: string): Record<string, string> {
  return {
    MG_CLIENTS_DB_DRIVER: "postgres",
    MG_CLIENTS_DB_HOST: PG.host,
    MG_CLIENTS_DB_PORT: String(PG.port),
    MG_CLIENTS_DB_USER: PG.user,
    MG_CLIENTS_DB_PASS: PG.pass,
    MG_CLIENTS_DB_NAME: database,
  };
}

/** The Postgres database that belongs to a data directory (created on first use). */
export async function databaseOf(dataDir: string): Promise<string> {
  let name = byDir.get(dataDir);
  if (!name) {
    name = await createTestDatabase("svc");
    byDir.set(dataDir, name);
  }
  return name;
}

/**
 * The environment that points a service (in-process or a child process) at the test backend for
 * this data directory: MG_CLIENTS_DB_PATH always (the data directory), plus the Postgres settings
 * when the tests run on Postgres.
 */
export async function dbEnv(dataDir: string, backend: TestBackend = TEST_DB): Promise<Record<string, string>> {
  const env = { MG_CLIENTS_DB_PATH: join(dataDir, "clients.db") };
  return backend === "postgres" ? { ...env, ...pgEnv(await databaseOf(dataDir)) } : { ...env, MG_CLIENTS_DB_DRIVER: "sqlite" };
}

/** Drops the data directory's database, if it has one. */
export async function releaseDatabaseOf(dataDir: string): Promise<void> {
  const name = byDir.get(dataDir);
  if (name) await dropTestDatabase(name);
}

/** Where a service keeps its rows: a SQLite file, or a Postgres database. */
export type Store = { driver: "sqlite"; path: string } | { driver: "postgres"; database: string };

/** The store an environment (as given to startTestService/spawnService) points at. */
export function storeOf(env: Record<string, string | undefined>): Store {
  return env.MG_CLIENTS_DB_DRIVER === "postgres"
    ? { driver: "postgres", database: env.MG_CLIENTS_DB_NAME! }
    : { driver: "sqlite", path: env.MG_CLIENTS_DB_PATH! };
}

/**
 * Runs one read query against a store, whichever the backend. Write `?` for parameters; the SQL
 * must be valid on both (plain SELECTs are).
 */
export async function queryStore<T = Record<string, unknown>>(store: Store, text: string, params: (string | number)[] = []): Promise<T[]> {
  if (store.driver === "sqlite") {
    const db = new Sqlite(store.path, { readonly: true });
    try {
      return db.query(text).all(...params) as T[];
    } finally {
      db.close();
    }
  }
  let i = 0;
  const pgText = text.replace(/\?/g, () => `$${++i}`);
  const sql = postgres({ host: PG.host, port: PG.port, user: PG.user, pass: PG.pass, database: store.database, max: 1, onnotice: () => undefined });
  try {
    const rows = await sql.unsafe(pgText, params);
    // int8 comes back as text from Postgres: numbers, as from SQLite.
    return rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          typeof v === "string" && /^-?\d+$/.test(v) && rows.columns.find((c) => c.name === k)?.type === 20 ? Number(v) : v,
        ]),
      ),
    ) as T[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Every row of every table of a Postgres store, as text (the Postgres counterpart of reading the
 * SQLite file's bytes: what an attacker with the database would see).
 */
export async function pgStoreText(database: string): Promise<string> {
  const store: Store = { driver: "postgres", database };
  const tables = await queryStore<{ schema: string; name: string }>(
    store,
    "SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'",
  );
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await queryStore<{ row: string }>(store, `SELECT t::text AS row FROM "${t.schema}"."${t.name}" t`);
    parts.push(...rows.map((r) => r.row));
  }
  return parts.join("\n");
}

/**
 * `describe` / `test` for what exists on SQLite only (the file, its WAL, its lock, backup and
 * restore). On Postgres the block is skipped and its name says why, so the skip shows in the output.
 */
export function describeSqliteOnly(name: string, why: string, fn: () => void): void {
  if (onPostgres) describe.skip(`${name} [SQLite only: ${why}]`, fn);
  else describe(name, fn);
}

export function testSqliteOnly(name: string, why: string, fn: () => Promise<unknown> | undefined, timeout?: number): void {
  if (onPostgres) test.skip(`${name} [SQLite only: ${why}]`, fn);
  else test(name, fn, timeout);
}

export interface OpenedDatabase {
  db: Database;
  store: Store;
  /** Closes the database and removes it (its file, or its Postgres database). */
  dispose(): Promise<void>;
}

/** The settings of a Postgres database of the test server, as the service's config has them. */
export const pgSettings = (database: string) => loadConfig(pgEnv(database)).db.pg;

/**
 * Opens a fresh database on the test backend directly (no service around it); `backend` forces
 * one. `onEventsCommitted` hears every commit that wrote events, with how many.
 */
export async function openTestDatabase(
  opts: { onEventsCommitted?: (count: number) => void; backend?: TestBackend; database?: string } = {},
): Promise<OpenedDatabase> {
  const backend = opts.backend ?? TEST_DB;
  if (backend === "postgres") {
    const database = opts.database ?? (await createTestDatabase("db"));
    const db = withCommitNotification(asDatabase(await openPostgres({ settings: pgSettings(database), logger: silentLogger })), opts.onEventsCommitted);
    return {
      db,
      store: { driver: "postgres", database },
      async dispose() {
        await db.close();
        if (!opts.database) await dropTestDatabase(database);
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "mgc-db-"));
  const path = join(dir, "c.db");
  const db = withCommitNotification(asDatabase(openSqlite({ path, logger: silentLogger })), opts.onEventsCommitted);
  return {
    db,
    store: { driver: "sqlite", path },
    async dispose() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function withCommitNotification(db: Database, onEventsCommitted?: (count: number) => void): Database {
  if (onEventsCommitted)
    db.onCommitted(({ events }) => {
      if (events > 0) onEventsCommitted(events);
    });
  return db;
}
