import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { dbEnv } from "./helpers/backend.ts";
import { BUN, REPO, run, spawnService } from "./helpers/process.ts";
import { request, tempDir } from "./helpers/service.ts";

const dirs: string[] = [];
const dir = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("the service as a process", () => {
  test("data survives a restart, and SIGTERM exits 0 after finishing", async () => {
    const env = { ...(await dbEnv(join(dir(), "nested"))), MG_CLIENTS_STANDALONE_TOKEN: "tok-proc" };
    const auth = { authorization: "Bearer tok-proc" };
    const first = await spawnService(env);
    const created = await request(first.url, "POST", "/d/clients", { name: "durable" }, auth);
    expect(created.status).toBe(201);
    expect(await first.kill("SIGTERM")).toBe(0);
    expect(first.lines.some((l) => l.includes('"shutting down"'))).toBe(true);

    const second = await spawnService(env);
    const got = await request(second.url, "GET", `/d/clients/${created.json.id}`, undefined, auth);
    expect(got.json.name).toBe("durable");
    expect(await second.kill("SIGINT")).toBe(0);
  });

  test("SIGTERM lets an in-flight request finish", async () => {
    const env = { ...(await dbEnv(dir())), MG_CLIENTS_STANDALONE_TOKEN: "tok-proc" };
    const svc = await spawnService(env);
    // Stream the body in two parts with SIGTERM in between, so the request is certainly in flight.
    const body = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ name: `n${i}` })));
    let push!: (s: string | null) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        push = (s) => (s === null ? c.close() : c.enqueue(new TextEncoder().encode(s)));
      },
    });
    const pending = fetch(`${svc.url}/d/clients/bulk`, {
      method: "POST",
      body: stream,
      headers: { authorization: "Bearer tok-proc", "content-type": "application/json" },
    });
    push(body.slice(0, 1000));
    await Bun.sleep(200);
    const exit = svc.kill("SIGTERM");
    await svc.waitForLine((l) => l.includes('"shutting down"'));
    push(body.slice(1000));
    push(null);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { total: number }).total).toBe(1000);
    expect(await exit).toBe(0);
    expect(svc.lines.some((l) => l.includes('"status":200') && l.includes("/d/clients/bulk"))).toBe(true);
  });

  test("a bad configuration exits 1 with one line per problem", async () => {
    const r = await run([BUN, join(REPO, "src/main.ts")], {
      MG_CLIENTS_HTTP_PORT: "abc",
      MG_CLIENTS_DB_DRIVER: "mysql",
      MG_CLIENTS_CACHE_KEY_DURATION: "forever",
      MG_CLIENTS_SERVER_CERT: "/no/such/cert.pem",
      MG_CLIENTS_SERVER_KEY: "/no/such/key.pem",
      MG_CLIENTS_DB_PATH: join(dir(), "c.db"),
    });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual([
      'config error: MG_CLIENTS_SERVER_CERT: file "/no/such/cert.pem" does not exist',
      'config error: MG_CLIENTS_SERVER_KEY: file "/no/such/key.pem" does not exist',
      'config error: MG_CLIENTS_HTTP_PORT: "abc" is not a port number (0-65535)',
      'config error: MG_CLIENTS_DB_DRIVER: "mysql" is not one of sqlite, postgres',
      'config error: MG_CLIENTS_CACHE_KEY_DURATION: "forever" is not a duration (use e.g. 90s, 1h, 1h30m or plain seconds)',
    ]);
    expect(r.stdout).toBe("");
  });
});
