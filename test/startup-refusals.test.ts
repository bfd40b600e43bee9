import { Database as Sqlite } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dbEnv, describeSqliteOnly, releaseDatabaseOf } from "./helpers/backend.ts";
import { cli } from "./helpers/cli.ts";
import { startTestService, tempDir } from "./helpers/service.ts";

/**
 * Issue 12 items 7 and 8: the service refuses to start, with one clear line, rather than silently
 * start from nothing: a missing installation key while the database holds secrets (every device
 * would be refused), and a clients.db that is not this service's database (a 0-byte file, another
 * file, another program's SQLite database).
 */

/** `serve` logs its failure (JSON on stdout) and says it in one line on stderr, without a stack. */
function oneStderrLine(r: { stderr: string }): string {
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("mgc-refuse-");
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) {
    await releaseDatabaseOf(d);
    rmSync(d, { recursive: true, force: true });
  }
});

describe("a missing installation key (item 7)", () => {
  test("is refused while the database holds secrets; MG_CLIENTS_NEW_INSTALLATION_KEY=true starts anyway", async () => {
    const dataDir = dir();
    const first = await startTestService({}, dataDir);
    expect((await first.api("POST", "/k/clients", { credentials: { secret: "s-1" } })).status).toBe(201);
    await first.stop();
    const keyPath = join(dataDir, "installation.key");
    const oldKey = readFileSync(keyPath, "utf8");
    rmSync(keyPath);

    await expect(startTestService({}, dataDir)).rejects.toThrow(
      `the installation key ${keyPath} is missing, but the database holds the secrets of 1 client, which only that key can check`,
    );
    expect(existsSync(keyPath)).toBe(false);
    // The command line says so in one line and exits 1.
    const r = await cli(["serve"], { ...(await dbEnv(dataDir)), MG_CLIENTS_HTTP_PORT: "0", MG_CLIENTS_GRPC_PORT: "0" });
    expect(r.code).toBe(1);
    expect(oneStderrLine(r)).toContain("set MG_CLIENTS_NEW_INSTALLATION_KEY=true to start with a new key");

    const forced = await startTestService({ MG_CLIENTS_NEW_INSTALLATION_KEY: "true" }, dataDir);
    try {
      expect(readFileSync(keyPath, "utf8")).not.toBe(oldKey);
      expect(forced.logs.some((l) => l.includes("created a NEW installation key although the database holds client secrets"))).toBe(true);
    } finally {
      await forced.stop();
    }
  });

  test("an empty database gets a new key as before; an unreadable key is refused", async () => {
    const dataDir = dir();
    const svc = await startTestService({}, dataDir);
    expect(statSync(join(dataDir, "installation.key")).mode & 0o777).toBe(0o600);
    await svc.stop();
    const keyPath = join(dataDir, "installation.key");
    rmSync(keyPath);
    mkdirSync(keyPath); // a key that cannot be read as a file
    await expect(startTestService({}, dataDir)).rejects.toThrow(`cannot read the installation key ${keyPath} (EISDIR)`);
  });

  test("MG_CLIENTS_NEW_INSTALLATION_KEY takes true or false", async () => {
    const { loadConfig } = await import("../src/config/config.ts");
    expect(loadConfig({}).installationKey.allowNew).toBe(false);
    expect(loadConfig({ MG_CLIENTS_NEW_INSTALLATION_KEY: "true" }).installationKey.allowNew).toBe(true);
    expect(() => loadConfig({ MG_CLIENTS_NEW_INSTALLATION_KEY: "yes please" })).toThrow('MG_CLIENTS_NEW_INSTALLATION_KEY: "yes please" is not true or false');
  });
});

describeSqliteOnly("a clients.db that is not this service's database (item 8)", "the checks are of the SQLite file", () => {
  const refused = async (prepare: (path: string) => void, message: string) => {
    const dataDir = dir();
    const path = join(dataDir, "clients.db");
    prepare(path);
    const before = readFileSync(path);
    const r = await cli(["serve"], { MG_CLIENTS_DB_PATH: path, MG_CLIENTS_HTTP_PORT: "0", MG_CLIENTS_GRPC_PORT: "0" });
    expect(r.code).toBe(1);
    expect(oneStderrLine(r)).toContain(message);
    expect(readFileSync(path).equals(before)).toBe(true); // untouched
    expect(existsSync(join(dataDir, "installation.key"))).toBe(false);
  };

  test("a 0-byte file", () => refused((p) => writeFileSync(p, ""), "is an empty file, not a magistrala-clients database"));
  test("a file that is not SQLite", () => refused((p) => writeFileSync(p, "not a database at all, just text\n"), "is not an SQLite database"));
  test("another program's SQLite database", () =>
    refused((p) => {
      const db = new Sqlite(p, { create: true });
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
      db.close();
    }, "is an SQLite database of another program (it has no __drizzle_migrations table)"));

  test("a new path, or an SQLite file with no tables, is a new database", async () => {
    const dataDir = dir();
    const empty = new Sqlite(join(dataDir, "clients.db"), { create: true });
    empty.exec("PRAGMA user_version = 7"); // writes the header: an SQLite database without tables
    empty.close();
    const svc = await startTestService({}, dataDir);
    expect((await svc.api("POST", "/n/clients", {})).status).toBe(201);
    await svc.stop();
  });
});
