import { Database as Sqlite } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import postgres from "postgres";
import { pgConnector } from "../src/db/postgres/connect.ts";
import { migratePostgres, PG_MIGRATIONS } from "../src/db/postgres/migrate.ts";
import { SQLITE_MIGRATIONS } from "../src/db/sqlite/open.ts";
import { createLogger } from "../src/log/logger.ts";
import { databaseOf, dbEnv, onPostgres, PG, pgSettings } from "./helpers/backend.ts";
import { startTestService, tempDir } from "./helpers/service.ts";

/**
 * Migration 0003 (the list indexes of issue #17) on a database that an earlier version made and
 * filled: the service opens it, the derived structures are built from the rows already there, and
 * the lists answer as they did (and keep up with the writes that follow).
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The migration folder as the previous version shipped it: everything before 0003. */
function previousMigrations(folder: string): string {
  const out = tempDir("mgc-prev-migrations-");
  dirs.push(out);
  cpSync(folder, out, { recursive: true });
  const journalPath = join(out, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  const keep = journal.entries.filter((e) => e.tag < "0003");
  for (const e of journal.entries.filter((x) => !keep.includes(x))) rmSync(join(out, `${e.tag}.sql`));
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: keep }));
  return out;
}

const D = "olddom";
const T0 = 1_780_000_000_000_000;
/** Rows as the previous version wrote them (no derived tables existed). */
const ROWS = Array.from({ length: 40 }, (_, i) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  name: `Device-${i}`,
  tags: JSON.stringify(i % 2 ? ["odd"] : ["even", i % 4 === 0 ? "four" : "two"]),
  metadata: JSON.stringify({ floor: i % 3, ...(i % 5 === 0 ? { on: true } : {}) }),
  status: i % 7 === 6 ? 1 : 0,
  created_at: T0 + i * 1_000_000,
  updated_at: i % 6 === 1 ? T0 + 100_000_000 + i : null,
}));
const COLS = ["id", "domain_id", "name", "tags", "secret_hash", "metadata", "status", "created_at", "updated_at"];
const values = (r: (typeof ROWS)[number]) => [r.id, D, r.name, r.tags, `hash-${r.id}`, r.metadata, r.status, r.created_at, r.updated_at];

test("a database of the previous schema, opened by this build: the same lists, and they follow new writes", async () => {
  const dataDir = tempDir("mgc-forward-");
  dirs.push(dataDir);
  mkdirSync(dataDir, { recursive: true });
  // The previous version's data directory has its installation key beside the rows (without it
  // the service refuses to start: the stored secrets could not be checked).
  writeFileSync(join(dataDir, "installation.key"), `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  const env = await dbEnv(dataDir);
  if (onPostgres) {
    const database = await databaseOf(dataDir);
    const connector = await pgConnector(pgSettings(database), { logger: createLogger("warn", () => undefined) });
    await migratePostgres(connector, previousMigrations(PG_MIGRATIONS));
    const sql = postgres({ host: PG.host, port: PG.port, user: PG.user, pass: PG.pass, database, max: 1, onnotice: () => undefined });
    // JSON columns as text cast by the server (postgres.js would encode a string as a JSON string).
    const placeholders = COLS.map((c, i) => (c === "tags" || c === "metadata" ? `$${i + 1}::text::jsonb` : `$${i + 1}`));
    for (const r of ROWS) await sql.unsafe(`INSERT INTO clients (${COLS.join(", ")}) VALUES (${placeholders.join(", ")})`, values(r) as never[]);
    await sql.end();
  } else {
    const conn = new Sqlite(join(dataDir, "clients.db"), { create: true });
    migrate(drizzle({ client: conn }), { migrationsFolder: previousMigrations(SQLITE_MIGRATIONS) });
    const insert = conn.prepare(`INSERT INTO clients (${COLS.join(", ")}) VALUES (${COLS.map(() => "?").join(", ")})`);
    for (const r of ROWS) insert.run(...(values(r) as never[]));
    conn.close();
  }

  const svc = await startTestService(env, dataDir);
  try {
    const list = async (q: string) => {
      const r = await svc.api("GET", `/${D}/clients?${q}`);
      expect(r.status).toBe(200);
      return { total: r.json.total as number, names: ((r.json.clients ?? []) as { name: string }[]).map((c) => c.name) };
    };
    const listTime = (r: (typeof ROWS)[number]) => r.updated_at ?? r.created_at;
    const expected = (keep: (r: (typeof ROWS)[number]) => boolean, limit = 10, offset = 0) => {
      const m = ROWS.filter((r) => r.status === 0 && keep(r)).sort((a, b) => listTime(b) - listTime(a) || (a.id < b.id ? 1 : -1));
      return { total: m.length, names: m.slice(offset, offset + limit).map((r) => r.name) };
    };
    expect(await list("")).toEqual(expected(() => true));
    expect(await list("offset=12&limit=5")).toEqual(expected(() => true, 5, 12));
    expect(await list("status=disabled")).toEqual({
      total: ROWS.filter((r) => r.status === 1).length,
      names: ROWS.filter((r) => r.status === 1)
        .sort((a, b) => listTime(b) - listTime(a))
        .slice(0, 10)
        .map((r) => r.name),
    });
    expect(await list("tags=four")).toEqual(expected((r) => r.tags.includes("four")));
    expect(await list("tags=even%2Btwo")).toEqual(expected((r) => r.tags.includes("two")));
    expect(await list(`metadata=${encodeURIComponent('{"floor":1}')}`)).toEqual(expected((r) => JSON.parse(r.metadata).floor === 1));
    expect(await list("name=ice-1")).toEqual(expected((r) => r.name.toLowerCase().includes("ice-1")));
    expect((await list("only_total=true")).total).toBe(expected(() => true).total);

    // Writes after the migration keep the derived structures exact.
    const created = await svc.api("POST", `/${D}/clients`, { name: "Device-new", tags: ["four"], metadata: { floor: 1 } });
    expect(created.status).toBe(201);
    expect((await svc.api("POST", `/${D}/clients/${ROWS[0]!.id}/disable`)).status).toBe(200);
    expect((await svc.api("DELETE", `/${D}/clients/${ROWS[4]!.id}`)).status).toBe(204);
    const fours = await list("tags=four");
    expect(fours.names[0]).toBe("Device-new");
    expect(fours.total).toBe(expected((r) => r.tags.includes("four") && r.id !== ROWS[0]!.id && r.id !== ROWS[4]!.id).total + 1);
    expect((await list("only_total=true")).total).toBe(expected(() => true).total - 2 + 1);
    expect((await list("name=device-new")).names).toEqual(["Device-new"]);
  } finally {
    await svc.dispose();
  }
}, 60_000);
