import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import { knownMigrations } from "../src/db/migrations.ts";
import { sqliteSchema } from "../src/db/schema/sqlite.ts";
import { SQLITE_MIGRATIONS } from "../src/db/sqlite/open.ts";
import { DUMP_FORMAT } from "../src/transfer/dump.ts";
import { dbEnv, onPostgres, queryStore, type Store, storeOf, TEST_DB, type TestBackend } from "./helpers/backend.ts";
import { cli, expectOneLineError } from "./helpers/cli.ts";
import { startTestService, tempDir } from "./helpers/service.ts";

/**
 * `export` / `import`: the portable dump moves a gateway's data between SQLite and Postgres with
 * nothing lost (the stored secret hashes and the installation key included), all or nothing.
 */

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("mgc-dump-");
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SECRET = "moves-with-the-dump";
const KEY_TAKEN = { message: "client key is not available" };
/** SQL names of every table of the schema. */
const TABLES = Object.values(sqliteSchema).map((t) => getTableConfig(t).name);
/** Columns holding JSON documents: text on SQLite, jsonb on Postgres. */
const JSON_COLUMNS = new Set(["tags", "metadata", "private_metadata"]);

/** Every row of every table, normalised across backends (JSON parsed), sorted: comparable with toEqual. */
async function everything(store: Store): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    const rows = await queryStore<Record<string, unknown>>(store, `SELECT * FROM ${table}`);
    out[table] = rows
      .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, JSON_COLUMNS.has(k) && typeof v === "string" ? JSON.parse(v) : v])))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

/** A stopped data directory on `backend` with clients (one of a known secret), channels, connections and their events. */
async function populated(backend: TestBackend) {
  const dataDir = dir();
  const env = await dbEnv(dataDir, backend);
  const svc = await startTestService(env, dataDir);
  const D = "dump-dom";
  const known = await svc.api("POST", `/${D}/clients`, {
    name: "known",
    tags: ["a", "b"],
    credentials: { identity: "id-1", secret: SECRET },
    metadata: { room: { n: 1 } },
    private_metadata: { k: "v" },
  });
  expect(known.status).toBe(201);
  const bulk = await svc.api("POST", `/${D}/clients/bulk`, [{ name: "b1" }, { name: "b2", status: "disabled" }]);
  expect(bulk.status).toBe(200);
  const ch = await svc.api("POST", `/${D}/channels`, { name: "temp", route: "temperature", metadata: { unit: "C" } });
  expect(ch.status).toBe(201);
  expect((await svc.api("POST", `/${D}/channels`, { id: "kitchen", name: "k" })).status).toBe(201);
  expect(
    (await svc.api("POST", `/${D}/channels/connect`, { channel_ids: [ch.json.id, "kitchen"], client_ids: [known.json.id], types: ["publish", "subscribe"] }))
      .status,
  ).toBe(201);
  expect((await svc.api("POST", `/${D}/clients/${known.json.id}/parent`, { parent_group_id: "g-1" })).status).toBe(200);
  expect((await svc.api("PATCH", `/${D}/clients/${bulk.json.clients[0].id}`, { name: "b1-renamed" })).status).toBe(200);
  await svc.stop();
  return { dataDir, env, store: storeOf(env), domain: D };
}

/** A fresh, empty target on `backend`, its data directory not created yet. */
async function emptyTarget(backend: TestBackend) {
  const dataDir = join(dir(), "data");
  const env = await dbEnv(dataDir, backend);
  return { dataDir, env, store: storeOf(env) };
}

async function exportTo(env: Record<string, string>, file: string) {
  const r = await cli(["export", file], env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

async function importFrom(env: Record<string, string>, file: string, ...flags: string[]) {
  const r = await cli(["import", file, ...flags], env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The same secret in the same domain collides only if the stored hash and the key came along intact. */
async function secretStillMatches(target: { dataDir: string; env: Record<string, string> }, domain: string) {
  const svc = await startTestService(target.env, target.dataDir);
  try {
    const dup = await svc.api("POST", `/${domain}/clients`, { name: "dup", credentials: { secret: SECRET } });
    expect({ status: dup.status, body: dup.json }).toEqual({ status: 400, body: KEY_TAKEN });
    const fresh = await svc.api("POST", `/${domain}/clients`, { name: "fresh", credentials: { secret: "another-secret" } });
    expect(fresh.status).toBe(201);
  } finally {
    await svc.stop();
  }
}

describe.skipIf(!onPostgres)("SQLite → Postgres → SQLite", () => {
  test("export, import into Postgres, export, import into SQLite: every table identical, and the secrets still match", async () => {
    const source = await populated("sqlite");
    const before = await everything(source.store);
    expect(before.clients).toHaveLength(3);
    expect(before.connections).toHaveLength(4);
    expect(before.outbox!.length).toBeGreaterThan(5); // events undelivered (no broker) travel too

    const first = join(dir(), "first.jsonl");
    expect(await exportTo(source.env, first)).toStartWith(
      `exported ${source.dataDir}/clients.db to ${first}: clients 3, channels 2, connections 4, client_roles 3, client_role_actions 27, client_role_members 3, channel_roles 2, channel_role_actions 22, channel_role_members 2, outbox `,
    );

    const pg = await emptyTarget("postgres");
    expect(await importFrom(pg.env, first)).toMatch(
      /^imported .* into postgres:\/\/.*: clients 3, channels 2, connections 4, client_roles 3, client_role_actions 27, client_role_members 3, channel_roles 2, channel_role_actions 22, channel_role_members 2, outbox \d+, kicks 0, client_presence 0; installation key written\n$/,
    );
    expect(await everything(pg.store)).toEqual(before);
    expect(readFileSync(join(pg.dataDir, "installation.key"))).toEqual(readFileSync(join(source.dataDir, "installation.key")));

    const second = join(dir(), "second.jsonl");
    await exportTo(pg.env, second);
    const rowLines = (f: string) => readFileSync(f, "utf8").split("\n").slice(1);
    expect(rowLines(second)).toEqual(rowLines(first)); // the same rows, value for value, in the same order

    const back = await emptyTarget("sqlite");
    await importFrom(back.env, second);
    expect(await everything(back.store)).toEqual(before);

    await secretStillMatches(pg, source.domain);
    await secretStillMatches(back, source.domain);

    // New events on Postgres get sequence numbers past the imported ones.
    const seqs = (await queryStore<{ seq: number }>(pg.store, "SELECT seq FROM outbox ORDER BY seq")).map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.length).toBe(before.outbox!.length + 1);
  });
});

/**
 * The entity counters the lists take their totals from (migration 0003, not in a dump: import
 * counts them again), summed over stripes, against the same counts taken from the tables.
 */
async function countersMatchTables(store: Store): Promise<void> {
  const listTime = "(CASE WHEN updated_at IS NULL THEN created_at ELSE updated_at END)";
  const kept = await queryStore<Record<string, unknown>>(
    store,
    "SELECT kind, domain_id, status, level, bucket, sum(n) AS n FROM entity_counts GROUP BY kind, domain_id, status, level, bucket HAVING sum(n) <> 0 ORDER BY kind, domain_id, status, level, bucket",
  );
  const levels = [
    [1, 42],
    [2, 32],
    [3, 22],
  ];
  const union = ["client", "channel"]
    .flatMap((kind) =>
      levels.map(
        ([level, shift]) =>
          `SELECT '${kind}' AS kind, domain_id, status, ${level} AS level, ${listTime} >> ${shift} AS bucket, count(*) AS n FROM ${kind}s GROUP BY 2, 3, 5`,
      ),
    )
    .join(" UNION ALL ");
  const recounted = await queryStore<Record<string, unknown>>(store, `SELECT * FROM (${union}) AS t ORDER BY kind, domain_id, status, level, bucket`);
  const norm = (rows: Record<string, unknown>[]) =>
    rows.map((r) => ({ ...r, status: Number(r.status), level: Number(r.level), bucket: Number(r.bucket), n: Number(r.n) }));
  expect(recounted.length).toBeGreaterThan(0);
  expect(norm(kept)).toEqual(norm(recounted));
  if (store.driver === "sqlite") await tagPairsMatchTables(store);
}

/** SQLite: the tag pairs of migration 0007 (import rebuilds them through the triggers), against a count from the tables. */
async function tagPairsMatchTables(store: Store): Promise<void> {
  for (const kind of ["client", "channel"]) {
    const kept = await queryStore(store, `SELECT domain_id, a, b, status, n FROM ${kind}_tag_pairs ORDER BY 1, 2, 3, 4`);
    const counted = await queryStore(
      store,
      `SELECT domain_id, a, b, status, count(*) AS n FROM (
         SELECT DISTINCT e.rowid, e.domain_id, e.status, x.value AS a, y.value AS b FROM ${kind}s e, json_each(e.tags) x, json_each(e.tags) y
         WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value)
       GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
    );
    expect(kept).toEqual(counted);
    if (kind === "client") expect(kept.length).toBeGreaterThan(0); // the client tagged a and b
  }
}

describe(`export and import on ${TEST_DB}`, () => {
  test("a dump imported into an empty database gives the same rows, the same key and working secrets", async () => {
    const source = await populated(TEST_DB);
    const file = join(dir(), "dump.jsonl");
    await exportTo(source.env, file);
    const header = JSON.parse(readFileSync(file, "utf8").split("\n")[0]!);
    expect(header).toMatchObject({ format: DUMP_FORMAT, version: 1, source: TEST_DB, schema: knownMigrations(SQLITE_MIGRATIONS).at(-1)!.tag });
    // every table of the schema, parents before the tables that reference them
    expect(header.tables.map((t: { name: string }) => t.name)).toEqual([
      "clients",
      "channels",
      "connections",
      "client_roles",
      "client_role_actions",
      "client_role_members",
      "channel_roles",
      "channel_role_actions",
      "channel_role_members",
      "outbox",
      "kicks",
      "client_presence",
    ]);
    expect([...header.tables.map((t: { name: string }) => t.name)].sort()).toEqual([...TABLES].sort());
    expect(readFileSync(file, "utf8")).not.toContain(SECRET);
    const target = await emptyTarget(TEST_DB);
    await importFrom(target.env, file);
    expect(await everything(target.store)).toEqual(await everything(source.store));
    await countersMatchTables(target.store);
    await secretStillMatches(target, source.domain);
  });

  test("a database with rows is refused unless --merge; a conflicting merge changes nothing; a clean merge adds", async () => {
    const source = await populated(TEST_DB);
    const file = join(dir(), "dump.jsonl");
    await exportTo(source.env, file);

    const target = await emptyTarget(TEST_DB);
    await importFrom(target.env, file);
    const once = await everything(target.store);
    const keyBefore = readFileSync(join(target.dataDir, "installation.key"), "utf8");

    const refused = await cli(["import", file], target.env);
    expect(refused.code).toBe(1);
    expect(expectOneLineError(refused)).toBe(`error: cannot import ${file}: the database is not empty (use --merge to add the dump's rows to what is there)`);

    // Merging the same dump again: every client collides; nothing is added, not even the outbox rows before it.
    const conflict = await cli(["import", file, "--merge"], target.env);
    expect(conflict.code).toBe(1);
    expect(expectOneLineError(conflict)).toMatch(
      new RegExp(`^error: cannot import ${file}: a row of clients is already in the database \\(.+\\); nothing was imported$`),
    );
    expect(await everything(target.store)).toEqual(once);
    expect(readFileSync(join(target.dataDir, "installation.key"), "utf8")).toBe(keyBefore);

    // A dump of other rows under the same key merges; the outbox rows get new sequence numbers.
    const svc = await startTestService(target.env, target.dataDir);
    expect((await svc.api("POST", "/merge-dom/clients", { name: "only-here" })).status).toBe(201);
    await svc.stop();
    const onlyNew = join(dir(), "merge.jsonl");
    await exportTo(target.env, onlyNew);
    const fresh = await emptyTarget(TEST_DB);
    mkdirSync(fresh.dataDir, { recursive: true });
    writeFileSync(join(fresh.dataDir, "installation.key"), keyBefore, { mode: 0o600 });
    const freshSvc = await startTestService(fresh.env, fresh.dataDir);
    expect((await freshSvc.api("POST", "/fresh-dom/clients", { name: "fresh" })).status).toBe(201);
    await freshSvc.stop();
    const merged = await importFrom(fresh.env, onlyNew, "--merge");
    expect(merged).toContain("installation key unchanged");
    const all = await everything(fresh.store);
    expect((all.clients as { name: string }[]).map((c) => c.name).sort()).toEqual(["b1-renamed", "b2", "fresh", "known", "only-here"]);
    const seqs = (all.outbox as { seq: number }[]).map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    // The rows there before and the merged ones, all counted (Postgres: recounted at the end).
    await countersMatchTables(fresh.store);
  });

  test("a damaged dump is refused before anything is written", async () => {
    const source = await populated(TEST_DB);
    const file = join(dir(), "dump.jsonl");
    await exportTo(source.env, file);
    const text = readFileSync(file, "utf8");
    const lines = text.trimEnd().split("\n");
    const variant = (name: string, content: string) => {
      const f = join(dir(), name);
      writeFileSync(f, content);
      return f;
    };
    const header = JSON.parse(lines[0]!);
    const cases: [string, string][] = [
      [variant("cut.jsonl", `${lines.slice(0, -3).join("\n")}\n`), "the file is cut short (no end line)"],
      [variant("garbled.jsonl", [...lines.slice(0, 3), "{not json", ...lines.slice(3)].join("\n")), "line 4: not JSON (the file is damaged)"],
      [variant("other.jsonl", "hello\n"), `not a ${DUMP_FORMAT} file`],
      [variant("empty.jsonl", ""), "the file is empty"],
      [
        variant("v2.jsonl", [JSON.stringify({ ...header, version: 2 }), ...lines.slice(1)].join("\n")),
        `dump format version 2 is not the one this build reads (1); use the version of magistrala-clients that wrote it (${header.software.version})`,
      ],
      [
        variant("newer.jsonl", [JSON.stringify({ ...header, schema: "0099_future" }), ...lines.slice(1)].join("\n")),
        `it has schema 0099_future, which this build does not know (its latest is ${header.schema}); import it with a newer version of magistrala-clients`,
      ],
      [
        variant("column.jsonl", [JSON.stringify({ ...header, tables: [{ name: "clients", columns: ["id", "colour"] }] }), ...lines.slice(1)].join("\n")),
        "clients has columns this build does not know (colour)",
      ],
    ];
    const target = await emptyTarget(TEST_DB);
    for (const [f, why] of cases) {
      const r = await cli(["import", f], target.env);
      expect({ file: f, code: r.code }).toEqual({ file: f, code: 1 });
      expect(expectOneLineError(r)).toBe(`error: cannot import ${f}: ${why}`);
    }
    // Untouched: not even created (SQLite), no table made (Postgres), no data directory, no key.
    if (target.store.driver === "sqlite") expect(existsSync(target.store.path)).toBe(false);
    else expect(await queryStore(target.store, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
    expect(existsSync(target.dataDir)).toBe(false);
  });
});
