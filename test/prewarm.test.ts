import { Database as Sqlite } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readlinkSync, rmSync } from "node:fs";
import { ConfigError, loadConfig } from "../src/config/config.ts";
import { AUTH_PATH_BTREES, startPrewarm } from "../src/db/sqlite/prewarm.ts";
import { silentLogger } from "../src/log/logger.ts";
import { onPostgres } from "./helpers/backend.ts";
import { basic, call, grpc, grpcClients } from "./helpers/grpc.ts";
import { request, startTestService, tempDir } from "./helpers/service.ts";

/**
 * MG_CLIENTS_DB_PREWARM (src/db/sqlite/prewarm.ts): the pages of the auth path's B-trees read
 * into the page cache at start and every 30 s. What is checked: a pass reads exactly the pages
 * SQLite itself counts for those B-trees (its dbstat table), the service does it on start beside
 * real requests, and stopping leaves no read in flight and no file open.
 */

/** File descriptors of this process open on `path`. */
const openOn = (path: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

describe.if(!onPostgres)("page cache prewarm (SQLite)", () => {
  const dataDir = tempDir("mgc-prewarm-");
  const env = { MG_CLIENTS_DB_DRIVER: "sqlite", MG_CLIENTS_DB_PATH: `${dataDir}/clients.db`, MG_CLIENTS_STANDALONE_TOKEN: "prewarm-token" };
  const dbPath = `${dataDir}/clients.db`;
  let device: { id: string; secret: string; channel: string };
  /** Pages of the auth path's B-trees as SQLite counts them (overflow pages are not followed). */
  let expected: number;

  beforeAll(async () => {
    // Enough rows for B-trees of two or three levels: 4,000 clients with metadata, 2 connections each.
    const svc = await startTestService({ ...env, MG_CLIENTS_DB_PREWARM: "off" }, dataDir);
    const auth = { authorization: `Bearer ${svc.token}` };
    const channels: string[] = [];
    for (let i = 0; i < 4; i++) channels.push((await svc.api("POST", "/pw/channels", { name: `ch-${i}` })).json.id);
    for (let i = 0; i < 4; i++) {
      const bulk = Array.from({ length: 1000 }, (_, j) => ({
        name: `dev-${i}-${j}`,
        credentials: { secret: `secret-${i}-${j}` },
        metadata: { serial: `${i}-${j}`, note: "x".repeat(200) },
      }));
      const r = await request(svc.url, "POST", "/pw/clients/bulk", bulk, auth);
      expect(r.status).toBe(200);
      const ids = r.json.clients.map((c: { id: string }) => c.id);
      expect((await svc.api("POST", "/pw/channels/connect", { channel_ids: channels.slice(0, 2), client_ids: ids, types: ["publish"] })).status).toBe(201);
      if (i === 0) device = { id: ids[0], secret: "secret-0-0", channel: channels[0]! };
    }
    await svc.stop();
    const conn = new Sqlite(dbPath, { readonly: true });
    const names = AUTH_PATH_BTREES.map((n) => `'${n}'`).join(", ");
    expected = (conn.query(`SELECT count(*) AS n FROM dbstat WHERE name IN (${names}) AND pagetype != 'overflow'`).get() as { n: number }).n;
    const depth = conn.query(`SELECT count(*) AS n FROM dbstat WHERE name = 'sqlite_autoindex_connections_1' AND pagetype = 'internal'`).get() as { n: number };
    conn.close();
    expect(depth.n).toBeGreaterThan(1); // interior pages below the root: three levels at least
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test("every B-tree it names exists in the schema", () => {
    const conn = new Sqlite(dbPath, { readonly: true });
    const found = conn.query("SELECT name FROM sqlite_schema").all() as { name: string }[];
    conn.close();
    for (const name of AUTH_PATH_BTREES) expect(found.map((r) => r.name)).toContain(name);
  });

  test("a pass reads exactly the pages SQLite counts for those B-trees, and again every interval", async () => {
    const conn = new Sqlite(dbPath, { readonly: true });
    const prewarm = startPrewarm({ path: dbPath, connection: conn, logger: silentLogger, everyMs: 20, delayMs: 0 });
    const first = await prewarm.first;
    expect(first?.pages).toBe(expected);
    expect(first!.bytes).toBeGreaterThanOrEqual(expected * 4096);
    for (let i = 0; i < 100 && prewarm.passes < 3; i++) await Bun.sleep(20);
    expect(prewarm.passes).toBeGreaterThanOrEqual(3);
    await prewarm.stop();
    const after = prewarm.passes;
    expect(openOn(dbPath)).toBe(1); // only `conn`
    await Bun.sleep(100);
    expect(prewarm.passes).toBe(after); // no pass after stop
    conn.close();
  });

  test("stopped during its first pass, it ends that pass, reads nothing more and closes the file", async () => {
    const conn = new Sqlite(dbPath, { readonly: true });
    const prewarm = startPrewarm({ path: dbPath, connection: conn, logger: silentLogger, everyMs: 10, delayMs: 0 });
    await prewarm.stop();
    expect(await prewarm.first).toBeUndefined();
    expect(prewarm.passes).toBe(0);
    expect(openOn(dbPath)).toBe(1);
    await Bun.sleep(50);
    expect(prewarm.passes).toBe(0);
    conn.close();
  });

  test("the service prewarms on start while it answers, and stops cleanly", async () => {
    const svc = await startTestService(env, dataDir); // MG_CLIENTS_DB_PREWARM defaults to on
    const g = grpcClients(svc.grpcAddress);
    try {
      const authn = await call(g.clients, "Authenticate", { token: basic(device.id, device.secret) });
      expect(authn.value?.authenticated).toBe(true);
      const authz = await call(g.channels, "Authorize", { domain_id: "pw", client_id: device.id, client_type: "client", channel_id: device.channel, type: 1 });
      expect(authz.value?.authorized).toBe(true);
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
      for (let i = 0; i < 500 && !svc.logs.some((l) => l.includes("page cache prewarmed")); i++) await Bun.sleep(10);
      const line = JSON.parse(svc.logs.find((l) => l.includes("page cache prewarmed"))!);
      expect(line).toMatchObject({ level: "info", btrees: AUTH_PATH_BTREES.length, pages: expected });
    } finally {
      g.close();
      await svc.stop();
    }
    expect(openOn(dbPath)).toBe(0);
    expect(svc.logs.some((l) => l.includes("prewarm failed"))).toBe(false);
  });

  test("MG_CLIENTS_DB_PREWARM=off reads nothing ahead; another value is a config error", async () => {
    const svc = await startTestService({ ...env, MG_CLIENTS_DB_PREWARM: "off" }, dataDir);
    const g = grpcClients(svc.grpcAddress);
    const authn = await call(g.clients, "Authenticate", { token: basic(device.id, device.secret) });
    expect(authn.code).toBe(grpc.status.OK);
    await Bun.sleep(100);
    g.close();
    await svc.stop();
    expect(svc.logs.some((l) => l.includes("prewarm"))).toBe(false);
    expect(() => loadConfig({ MG_CLIENTS_DB_PREWARM: "yes" })).toThrow(ConfigError);
    expect(loadConfig({}).db.prewarm).toBe(true);
  });
});
