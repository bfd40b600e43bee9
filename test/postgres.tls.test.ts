import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/config.ts";
import { openPostgres, type PostgresDatabase } from "../src/db/postgres/open.ts";
import { silentLogger } from "../src/log/logger.ts";
import { onPostgres } from "./helpers/backend.ts";

/**
 * MG_CLIENTS_DB_SSL_MODE against a real TLS server: a private Postgres cluster started for this file
 * (initdb as the `postgres` user, its own port, a throw-away CA). Plain connections are refused
 * by its pg_hba, so `allow` has to fall back to TLS; `certuser` logs in with a client certificate only.
 * Needs root (to run the cluster as `postgres`), openssl and the server binaries; skipped, saying
 * which is missing, otherwise.
 */

const BIN = "/usr/lib/postgresql/15/bin";
const missing = [
  process.getuid?.() !== 0 ? "root" : "",
  Bun.which("openssl") ? "" : "openssl",
  Bun.which("runuser") ? "" : "runuser",
  existsSync(`${BIN}/initdb`) ? "" : `${BIN}/initdb`,
].filter(Boolean);
const runs = onPostgres && missing.length === 0;
if (onPostgres && !runs) console.warn(`SKIPPING the TLS tests: they need ${missing.join(", ")}`);

let dir = "";
let port = 0;
const file = (name: string) => join(dir, name);

function sh(cmd: string[], opts: { as?: string } = {}): string {
  const full = opts.as ? ["runuser", "-u", opts.as, "--", ...cmd] : cmd;
  const r = Bun.spawnSync(full, { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${full.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

beforeAll(async () => {
  if (!runs) return;
  dir = mkdtempSync(join(tmpdir(), "mgc-tls-"));
  const ssl = (...args: string[]) => sh(["openssl", ...args]);
  const cert = (name: string, cn: string, san?: string) => {
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    if (san) writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`);
    ssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      ...(san ? ["-extfile", `${name}.ext`] : []),
    );
  };
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=mgc-test-ca");
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=some-other-ca");
  cert("server", "localhost", "DNS:localhost");
  cert("client", "certuser");
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  port = probe.port!;
  await probe.stop(true);
  const pw = sh(["id", "-u", "postgres"]).trim();
  const gid = sh(["id", "-g", "postgres"]).trim();
  chownSync(dir, Number(pw), Number(gid));
  for (const f of ["server.key", "server.crt", "ca.crt"]) chownSync(file(f), Number(pw), Number(gid));
  sh([`${BIN}/initdb`, "-D", file("data"), "-A", "trust", "-U", "postgres", "--no-sync"], { as: "postgres" });
  writeFileSync(
    file("data/postgresql.conf"),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      "ssl = on",
      `ssl_cert_file = '${file("server.crt")}'`,
      `ssl_key_file = '${file("server.key")}'`,
      `ssl_ca_file = '${file("ca.crt")}'`,
      "fsync = off",
      "",
    ].join("\n"),
    { flag: "a" },
  );
  writeFileSync(
    file("data/pg_hba.conf"),
    ["local all all trust", "hostssl all certuser 127.0.0.1/32 cert", "hostssl all all 127.0.0.1/32 trust", "hostnossl all all 127.0.0.1/32 reject", ""].join(
      "\n",
    ),
  );
  sh([`${BIN}/pg_ctl`, "-D", file("data"), "-l", file("log"), "-w", "start"], { as: "postgres" });
  sh([`${BIN}/psql`, "-h", dir, "-p", String(port), "-U", "postgres", "-c", "CREATE ROLE certuser LOGIN"], { as: "postgres" });
}, 60_000);

afterAll(() => {
  if (!dir) return;
  try {
    sh([`${BIN}/pg_ctl`, "-D", file("data"), "-m", "immediate", "stop"], { as: "postgres" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function open(env: Record<string, string>): Promise<{ db?: PostgresDatabase; error?: string }> {
  const settings = loadConfig({
    MG_CLIENTS_DB_HOST: "127.0.0.1",
    MG_CLIENTS_DB_PORT: String(port),
    MG_CLIENTS_DB_USER: "postgres",
    MG_CLIENTS_DB_NAME: "postgres",
    ...env,
  }).db.pg;
  try {
    return { db: await openPostgres({ settings, logger: silentLogger, migrate: false }) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Opens, reports whether the session is encrypted, closes. */
async function tlsOf(env: Record<string, string>): Promise<boolean | string> {
  const { db, error } = await open(env);
  if (!db) return error!;
  try {
    const [row] = await db.sql<{ ssl: boolean }[]>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
    return row!.ssl;
  } finally {
    await db.close();
  }
}

describe.skipIf(!runs)("TLS to Postgres (MG_CLIENTS_DB_SSL_MODE)", () => {
  test("disable is refused by a server that wants TLS; allow falls back to TLS; prefer and require use it", async () => {
    expect(await tlsOf({ MG_CLIENTS_DB_SSL_MODE: "disable" })).toMatch(
      /^cannot connect to postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=disable: .*pg_hba\.conf/,
    );
    for (const mode of ["allow", "prefer", "require"]) expect({ mode, tls: await tlsOf({ MG_CLIENTS_DB_SSL_MODE: mode }) }).toEqual({ mode, tls: true });
  });

  test("verify-ca checks the chain against the root certificate; verify-full the host name too", async () => {
    expect(await tlsOf({ MG_CLIENTS_DB_SSL_MODE: "verify-ca", MG_CLIENTS_DB_SSL_ROOT_CERT: file("ca.crt") })).toBe(true);
    expect(await tlsOf({ MG_CLIENTS_DB_SSL_MODE: "verify-ca", MG_CLIENTS_DB_SSL_ROOT_CERT: file("other-ca.crt") })).toMatch(
      /^cannot connect to .*sslmode=verify-ca: /,
    );
    // require with a root certificate verifies like verify-ca (libpq's rule).
    expect(await tlsOf({ MG_CLIENTS_DB_SSL_MODE: "require", MG_CLIENTS_DB_SSL_ROOT_CERT: file("other-ca.crt") })).toMatch(/^cannot connect to /);
    expect(await tlsOf({ MG_CLIENTS_DB_SSL_MODE: "verify-full", MG_CLIENTS_DB_SSL_ROOT_CERT: file("ca.crt"), MG_CLIENTS_DB_HOST: "localhost" })).toBe(true);
    // The certificate names localhost, not 127.0.0.1.
    expect(await tlsOf({ MG_CLIENTS_DB_SSL_MODE: "verify-full", MG_CLIENTS_DB_SSL_ROOT_CERT: file("ca.crt") })).toMatch(
      /^cannot connect to .*sslmode=verify-full: .*(IP|altnames|127\.0\.0\.1)/,
    );
  });

  test("a client certificate (MG_CLIENTS_DB_SSL_CERT/_KEY) logs in a user the server admits by certificate only", async () => {
    const asCertUser = {
      MG_CLIENTS_DB_USER: "certuser",
      MG_CLIENTS_DB_SSL_MODE: "verify-full",
      MG_CLIENTS_DB_HOST: "localhost",
      MG_CLIENTS_DB_SSL_ROOT_CERT: file("ca.crt"),
    };
    expect(await tlsOf({ ...asCertUser, MG_CLIENTS_DB_SSL_CERT: file("client.crt"), MG_CLIENTS_DB_SSL_KEY: file("client.key") })).toBe(true);
    expect(await tlsOf(asCertUser)).toMatch(/^cannot connect to postgres:\/\/certuser@localhost:\d+\/postgres\?sslmode=verify-full: .*certificate/);
  });
});
