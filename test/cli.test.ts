import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildInfo } from "../src/buildinfo.ts";
import { localHealthUrl } from "../src/cli/healthcheck.ts";
import { loadConfig } from "../src/config/config.ts";
import { knownMigrations } from "../src/db/migrations.ts";
import { describeTarget } from "../src/db/postgres/connect.ts";
import { PG_MIGRATIONS } from "../src/db/postgres/migrate.ts";
import { DatabaseInUseError } from "../src/db/sqlite/lock.ts";
import { SQLITE_MIGRATIONS } from "../src/db/sqlite/open.ts";
import { createTestDatabase, dbEnv, onPostgres, PG, pgEnv, queryStore, testSqliteOnly } from "./helpers/backend.ts";
import { cli, expectOneLineError, MAIN } from "./helpers/cli.ts";
import { BUN, spawnService } from "./helpers/process.ts";
import { request, startTestService, tempDir } from "./helpers/service.ts";

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("mgc-cli-");
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const EXPECTED_VERSION = `magistrala-clients ${buildInfo.version} (commit ${buildInfo.commit}, built ${buildInfo.buildTime})`;

describe("version and help", () => {
  test("version prints version, commit and build time on one line (also --version and --json)", async () => {
    const r = await cli(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${EXPECTED_VERSION}\n`);
    expect(r.stderr).toBe("");
    const flag = await cli(["--version"]);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toBe(`${EXPECTED_VERSION}\n`);
    const json = await cli(["version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ version: buildInfo.version, commit: buildInfo.commit, build_time: buildInfo.buildTime });
  });

  test("--help works on every command and says what it does", async () => {
    const commands = ["serve", "migrate", "backup", "restore", "export", "import", "healthcheck", "version"];
    const root = await cli(["--help"]);
    expect(root.code).toBe(0);
    expect(root.stdout).toStartWith("Usage: magistrala-clients [options] [command]");
    for (const c of commands) expect(root.stdout).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    expect(root.stdout).toContain("With no command, magistrala-clients runs `serve`.");
    const helps = await Promise.all(commands.map((c) => cli([c, "--help"])));
    helps.forEach((r, i) => {
      expect({ command: commands[i], code: r.code, stderr: r.stderr }).toEqual({ command: commands[i], code: 0, stderr: "" });
      expect(r.stdout).toStartWith(`Usage: magistrala-clients ${commands[i]}`);
    });
    const [migrate, backup, importHelp, healthcheck] = [1, 2, 5, 6].map((i) => helps[i]!.stdout);
    expect(migrate).toContain("--status");
    expect(backup).toContain("--no-key");
    expect(importHelp).toContain("--merge");
    expect(healthcheck).toContain("--timeout <ms>");
    expect((await cli(["help", "backup"])).stdout).toBe(backup!);
  }, 30_000);
});

describe("command-line errors: one line on stderr, no stack trace, non-zero exit", () => {
  test("unknown commands and bad arguments exit 2 with commander's one-line message", async () => {
    const cases: [string[], string][] = [
      [["frobnicate"], "error: unknown command 'frobnicate'"],
      [["bakup", "x.db"], "error: unknown command 'bakup' (Did you mean backup?)"],
      [["backup"], "error: missing required argument 'file'"],
      [["restore"], "error: missing required argument 'file'"],
      [["restore", "a.db", "b.db"], "error: too many arguments for 'restore'. Expected 1 argument but got 2."],
      [["serve", "now"], "error: too many arguments for 'serve'. Expected 0 arguments but got 1."],
      [["migrate", "--bogus"], "error: unknown option '--bogus'"],
      [["--bogus"], "error: unknown option '--bogus'"],
      [["healthcheck", "--timeout", "soon"], "error: option '--timeout <ms>' argument 'soon' is invalid. expected a positive number of milliseconds"],
      [["healthcheck", "--url"], "error: option '--url <url>' argument missing"],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(expectOneLineError(r)).toBe(message);
    });
  }, 30_000);

  test("failures of a command exit 1 with one line", async () => {
    const d = dir();
    const db = join(d, "clients.db");
    const cases: [string[], Record<string, string>, string][] = [
      [["backup", join(d, "b.db")], { MG_CLIENTS_DB_PATH: db }, `error: no database at ${db} (check MG_CLIENTS_DB_PATH)`],
      [["restore", join(d, "missing.db")], { MG_CLIENTS_DB_PATH: db }, `error: cannot restore ${join(d, "missing.db")}: no such file`],
      [["restore", d], { MG_CLIENTS_DB_PATH: db }, `error: cannot restore ${d}: not a file`],
      [
        ["backup", join(d, "b.db")],
        { MG_CLIENTS_DB_PATH: db, MG_CLIENTS_DB_DRIVER: "postgres" },
        "error: backup works on the SQLite database only (MG_CLIENTS_DB_DRIVER=postgres: use `export`/`import` for a portable dump, or pg_dump/pg_restore)",
      ],
      [
        ["restore", join(d, "b.db")],
        { MG_CLIENTS_DB_PATH: db, MG_CLIENTS_DB_DRIVER: "postgres" },
        "error: restore works on the SQLite database only (MG_CLIENTS_DB_DRIVER=postgres: use `export`/`import` for a portable dump, or pg_dump/pg_restore)",
      ],
      [
        ["export", join(d, "dump.jsonl")],
        { MG_CLIENTS_DB_PATH: db },
        `error: no installation key in ${d} (the folder of MG_CLIENTS_DB_PATH): the stored secrets are useless without it; export with the service's data directory`,
      ],
      [["import", join(d, "missing.jsonl")], { MG_CLIENTS_DB_PATH: db }, `error: cannot import ${join(d, "missing.jsonl")}: no such file`],
      [["migrate"], { MG_CLIENTS_DB_PATH: db, MG_CLIENTS_HTTP_PORT: "eighty" }, 'config error: MG_CLIENTS_HTTP_PORT: "eighty" is not a port number (0-65535)'],
      [["healthcheck"], { MG_CLIENTS_HTTP_PORT: "0" }, "error: MG_CLIENTS_HTTP_PORT is 0 (a random port): give the URL with --url"],
    ];
    const results = await Promise.all(cases.map(([args, env]) => cli(args, env)));
    results.forEach((r, i) => {
      const [args, , message] = cases[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(expectOneLineError(r)).toBe(message);
    });
    expect(existsSync(db)).toBe(false); // none of them created the database
  }, 30_000);
});

describe("migrate", () => {
  const tags = knownMigrations(SQLITE_MIGRATIONS).map((m) => m.tag);

  const FILE = "migrates the SQLite file at MG_CLIENTS_DB_PATH; the Postgres variant is below";
  testSqliteOnly("--status before and after migrate on a fresh path", FILE, async () => {
    const db = join(dir(), "fresh", "clients.db");
    const env = { MG_CLIENTS_DB_PATH: db };

    const before = await cli(["migrate", "--status"], env);
    expect(before.code).toBe(0);
    expect(before.stdout.trimEnd().split("\n")).toEqual([
      `database: ${db} (does not exist yet)`,
      ...tags.map((t) => `pending  ${t}`),
      `0 applied, ${tags.length} pending`,
    ]);
    expect(existsSync(db)).toBe(false); // --status changes nothing

    const migrate = await cli(["migrate"], env);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toBe(`applied ${tags.length} migration${tags.length === 1 ? "" : "s"} (${tags.join(", ")}) to ${db}\n`);

    const after = await cli(["migrate", "--status"], env);
    expect(after.code).toBe(0);
    expect(after.stdout.trimEnd().split("\n")).toEqual([`database: ${db}`, ...tags.map((t) => `applied  ${t}`), `${tags.length} applied, 0 pending`]);

    const again = await cli(["migrate"], env);
    expect(again.stdout).toBe(`nothing to apply: ${db} is up to date (${tags.at(-1)})\n`);
  });

  testSqliteOnly(
    "is refused while a service holds the database; --status still answers",
    "the SQLite lock; on Postgres migrate runs beside the instances",
    async () => {
      const svc = await startTestService({}, dir());
      try {
        const r = await cli(["migrate"], { MG_CLIENTS_DB_PATH: svc.dbPath });
        expect(r.code).toBe(1);
        expect(expectOneLineError(r)).toMatch(
          new RegExp(`^error: the database ${svc.dbPath} is in use by another process \\(serve, pid ${process.pid}, since .+\\)$`),
        );
        const status = await cli(["migrate", "--status"], { MG_CLIENTS_DB_PATH: svc.dbPath });
        expect(status.code).toBe(0);
        expect(status.stdout).toContain(", 0 pending");
      } finally {
        await svc.dispose();
      }
    },
  );
});

describe.skipIf(!onPostgres)("migrate on Postgres", () => {
  const tags = knownMigrations(PG_MIGRATIONS).map((m) => m.tag);

  test("--status before and after migrate on a fresh database; the password is never shown", async () => {
    const name = await createTestDatabase("migrate");
    const env = { ...pgEnv(name), MG_CLIENTS_DB_PASS: "hush-hush-pass", MG_CLIENTS_DB_PATH: join(dir(), "clients.db") };
    const target = describeTarget(loadConfig(env).db.pg);
    expect(target).toBe(`postgres://${PG.user}@${PG.host}:${PG.port}/${name}?sslmode=disable`);

    const before = await cli(["migrate", "--status"], env);
    expect(before.stderr).toBe("");
    expect(before.stdout.trimEnd().split("\n")).toEqual([`database: ${target}`, ...tags.map((t) => `pending  ${t}`), `0 applied, ${tags.length} pending`]);
    const migrate = await cli(["migrate"], env);
    expect(migrate.stderr).toBe("");
    expect(migrate.stdout).toBe(`applied ${tags.length} migration${tags.length === 1 ? "" : "s"} (${tags.join(", ")}) to ${target}\n`);
    const after = await cli(["migrate", "--status"], env);
    expect(after.stdout.trimEnd().split("\n")).toEqual([`database: ${target}`, ...tags.map((t) => `applied  ${t}`), `${tags.length} applied, 0 pending`]);
    const again = await cli(["migrate"], env);
    expect(again.stdout).toBe(`nothing to apply: ${target} is up to date (${tags.at(-1)})\n`);
    for (const r of [before, migrate, after, again]) expect(r.stdout + r.stderr).not.toContain("hush-hush-pass");
  });

  test("three migrate processes at once on a fresh database: all succeed, each migration applied once", async () => {
    const name = await createTestDatabase("migrate3");
    const env = { ...pgEnv(name), MG_CLIENTS_DB_PATH: join(dir(), "clients.db") };
    const results = await Promise.all([1, 2, 3].map(() => cli(["migrate"], env)));
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(results.filter((r) => r.stdout.startsWith("applied "))).toHaveLength(1);
    const rows = await queryStore<{ n: number }>({ driver: "postgres", database: name }, "SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
    expect(rows[0]!.n).toBe(tags.length);
  }, 30_000);

  test("an unreachable or missing database: one line naming it, without the password", async () => {
    const missing = { ...pgEnv("mgc_no_such_database"), MG_CLIENTS_DB_PASS: "hush-hush-pass", MG_CLIENTS_DB_PATH: join(dir(), "clients.db") };
    const r = await cli(["migrate", "--status"], missing);
    expect(r.code).toBe(1);
    expect(expectOneLineError(r)).toBe(
      `error: cannot connect to postgres://${PG.user}@${PG.host}:${PG.port}/mgc_no_such_database?sslmode=disable: database "mgc_no_such_database" does not exist`,
    );
    const down = await cli(["serve"], { ...missing, MG_CLIENTS_DB_PORT: "1", MG_CLIENTS_HTTP_PORT: "0", MG_CLIENTS_GRPC_PORT: "0", MG_CLIENTS_HOOKS_PORT: "" });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^error: cannot connect to postgres://${PG.user}@${PG.host}:1/mgc_no_such_database\\?sslmode=disable: .+\\n$`));
    expect(down.stdout + down.stderr).not.toContain("hush-hush-pass");
  });
});

const LOCK = "the lock of the SQLite file; several instances share a Postgres database by design";

describe("the database lock", () => {
  testSqliteOnly("a second service on the same database refuses to start; after the first stops it starts", LOCK, async () => {
    const d = dir();
    const first = await startTestService({}, d);
    await expect(startTestService({}, d)).rejects.toBeInstanceOf(DatabaseInUseError);
    expect((await first.api("GET", "/d/clients")).status).toBe(200); // the refused one did not disturb it
    await first.stop();
    const second = await startTestService({}, d);
    await second.stop();
  });

  testSqliteOnly("a service killed with SIGKILL leaves no stale lock behind", LOCK, async () => {
    const db = join(dir(), "clients.db");
    const svc = await spawnService({ MG_CLIENTS_DB_PATH: db, MG_CLIENTS_STANDALONE_TOKEN: "tok-kill" });
    const refused = await cli(["migrate"], { MG_CLIENTS_DB_PATH: db });
    expect(refused.code).toBe(1);
    expect(await svc.kill("SIGKILL")).not.toBe(0);
    const r = await cli(["migrate"], { MG_CLIENTS_DB_PATH: db });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  testSqliteOnly("a service that cannot take the lock says so in one line on stderr and exits 1", LOCK, async () => {
    const svc = await startTestService({}, dir());
    try {
      const r = await cli(["serve"], { MG_CLIENTS_DB_PATH: svc.dbPath, MG_CLIENTS_HTTP_PORT: "0", MG_CLIENTS_GRPC_PORT: "0", MG_CLIENTS_HOOKS_PORT: "" });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: the database ${svc.dbPath} is in use by another process \\(serve, pid ${process.pid}, since [^)]+\\)\\n$`));
    } finally {
      await svc.dispose();
    }
  });
});

describe("healthcheck", () => {
  test("exits 0 against a running service (`serve` given explicitly)", async () => {
    const svc = await spawnService({ ...(await dbEnv(dir())), MG_CLIENTS_STANDALONE_TOKEN: "tok-hc" }, [BUN, MAIN, "serve"]);
    try {
      const port = new URL(svc.url).port;
      const r = await cli(["healthcheck"], { MG_CLIENTS_HTTP_PORT: port });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^pass: http://localhost:${port}/health \\(version ${buildInfo.version}, instance [0-9a-f-]{36}\\)\\n$`));
    } finally {
      expect(await svc.kill()).toBe(0);
    }
  });

  test("exits 1 when nothing listens, and when /health does not pass", async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response("") });
    const freePort = String(probe.port);
    await probe.stop(true);
    const down = await cli(["healthcheck", "--timeout", "2000"], { MG_CLIENTS_HTTP_PORT: freePort });
    expect(down.code).toBe(1);
    expect(expectOneLineError(down)).toStartWith(`unhealthy: cannot reach http://localhost:${freePort}/health: `);

    const failing = Bun.serve({ port: 0, fetch: () => Response.json({ status: "fail" }, { status: 503 }) });
    try {
      const url = `http://127.0.0.1:${failing.port}/health`;
      const r = await cli(["healthcheck", "--url", url]);
      expect(r.code).toBe(1);
      expect(expectOneLineError(r)).toBe(`unhealthy: ${url} answered HTTP 503 status "fail"`);
    } finally {
      await failing.stop(true);
    }
  });

  test("asks the local address when the service listens on all interfaces", () => {
    expect(localHealthUrl({ host: "0.0.0.0", port: 9000 })).toBe("http://127.0.0.1:9000/health");
    expect(localHealthUrl({ host: "::", port: 9000 })).toBe("http://[::1]:9000/health");
    expect(localHealthUrl({ host: "fe80::1", port: 1 })).toBe("http://[fe80::1]:1/health");
    expect(localHealthUrl({ host: "localhost", port: 9443, tls: { cert: "c", key: "k" } })).toBe("https://localhost:9443/health");
  });
});

test("no command serves, as `npm start` does", async () => {
  const svc = await spawnService({ ...(await dbEnv(dir())), MG_CLIENTS_STANDALONE_TOKEN: "tok-default" }, [BUN, MAIN]);
  try {
    const r = await request(svc.url, "GET", "/health");
    expect(r.json.status).toBe("pass");
  } finally {
    expect(await svc.kill()).toBe(0);
  }
});
