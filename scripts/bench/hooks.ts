// Broker hooks benchmark (issue #15): EMQX authz and RabbitMQ topic checks against the hooks
// listener, cache hit (the default cache) and cold (a second service on a copy of the same data with
// MG_CLIENTS_CACHE_KEY_DURATION=0, so every check reads the database), against a bare Elysia route
// that parses the same body and answers a constant (scripts/bench/bare-hooks.ts), in the same run.
// Cases alternate over rounds; figures are medians. Targets: hit ≥ 80 %, cold ≥ 50 % of the bare route.
//   flock /tmp/mgc-heavy.lock bun scripts/bench/hooks.ts     (BENCH_SECONDS, BENCH_CONNECTIONS; --postgres)
// Load comes from wrk only (Debian: apt-get install wrk); without it the benchmark stops and says so.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchDatabase, freshDatabase, onPostgres } from "./db.ts";
import { LOAD_TOOL, type LoadResult, load, merged, requireWrk, table } from "./load.ts";
import { freePort, ROOT, startProcess, startService } from "./proc.ts";

requireWrk();
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const dir = mkdtempSync(join(tmpdir(), "mgc-bench-hooks-"));
const D = "0f6c2a9e-6a0b-4c5e-9d3f-2b1a7c8e9d01";

async function api(url: string, token: string, path: string, body: unknown): Promise<any> {
  const r = await fetch(url + path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.status === 201 && path.endsWith("connect") ? undefined : r.json();
}

let pg: BenchDatabase | undefined;
try {
  pg = onPostgres ? await freshDatabase("hooks") : undefined;
  const hooksPort = await freePort();
  const dataDir = join(dir, "svc");
  const hooksEnv = (port: number) => ({ MG_CLIENTS_HOOKS_HOST: "localhost", MG_CLIENTS_HOOKS_PORT: String(port), ...pg?.env });
  // Seed: one client connected for publish to one channel (a few more of each around it).
  const seed = await startService(dataDir, hooksEnv(hooksPort));
  const clients = (
    await api(
      seed.url,
      seed.token,
      `/${D}/clients/bulk`,
      Array.from({ length: 100 }, (_, i) => ({ name: `dev-${i}` })),
    )
  ).clients;
  const channels = (
    await api(
      seed.url,
      seed.token,
      `/${D}/channels/bulk`,
      Array.from({ length: 10 }, (_, i) => ({ name: `ch-${i}` })),
    )
  ).channels;
  await api(seed.url, seed.token, `/${D}/channels/connect`, {
    channel_ids: channels.map((c: any) => c.id),
    client_ids: clients.map((c: any) => c.id),
    types: ["publish"],
  });
  seed.proc.kill("SIGTERM");
  await seed.proc.exited;
  const client = clients[42].id as string;
  const channel = channels[7].id as string;

  // Hit: the service as seeded; cold: caching off, on a copy of the data (SQLite) or the same database.
  const coldDir = join(dir, "cold");
  mkdirSync(coldDir);
  copyFileSync(join(dataDir, "installation.key"), join(coldDir, "installation.key"));
  if (!pg) copyFileSync(join(dataDir, "clients.db"), join(coldDir, "clients.db"));
  const coldPort = await freePort();
  const [hot, cold] = await Promise.all([
    startService(dataDir, hooksEnv(hooksPort)),
    startService(coldDir, { ...hooksEnv(coldPort), MG_CLIENTS_CACHE_KEY_DURATION: "0" }),
  ]);
  const barePort = await freePort();
  const bare = await startProcess([process.execPath, join(ROOT, "scripts/bench/bare-hooks.ts"), String(barePort)], {}, (l) => l === "ready");

  const topic = `m/${D}/c/${channel}/temperature`;
  const emqx = JSON.stringify({ clientid: "emqx-bench-1", username: client, topic, action: "publish", qos: "1", retain: "false" });
  const rabbit = new URLSearchParams({
    username: client,
    vhost: "/",
    resource: "topic",
    name: "amq.topic",
    permission: "write",
    routing_key: topic.replaceAll("/", "."),
    "variable_map.client_id": "rabbit-bench-1",
    "variable_map.username": client,
    "variable_map.vhost": "/",
  }).toString();
  const base = { hot: `http://localhost:${hooksPort}`, cold: `http://localhost:${coldPort}`, bare: `http://localhost:${barePort}` };
  // Every answer must be an allow, or the run measures something else.
  for (const [name, url] of Object.entries(base)) {
    const e = await (await fetch(`${url}/emqx/authz`, { method: "POST", body: emqx, headers: { "content-type": "application/json" } })).text();
    const r = await (
      await fetch(`${url}/rabbitmq/topic`, { method: "POST", body: rabbit, headers: { "content-type": "application/x-www-form-urlencoded" } })
    ).text();
    if (!e.includes('"allow"') || r !== "allow") throw new Error(`${name}: not an allow (${e}, ${r})`);
  }

  const rounds = Math.max(1, Math.min(5, Math.floor(seconds / 2)));
  const per = Math.max(1, Math.floor(seconds / rounds));
  const pids: Record<string, number> = { hot: hot.proc.pid, cold: cold.proc.pid, bare: bare.proc.pid };
  const spec = (url: string, path: string, body: string, type: string, serverPid: number) => ({
    url: url + path,
    method: "POST" as const,
    body,
    headers: { "content-type": type },
    connections,
    seconds: per,
    serverPid,
  });
  const cases: Record<string, ReturnType<typeof spec>> = {};
  for (const [name, url] of Object.entries(base)) {
    cases[`emqx-${name}`] = spec(url, "/emqx/authz", emqx, "application/json", pids[name]!);
    cases[`rabbit-${name}`] = spec(url, "/rabbitmq/topic", rabbit, "application/x-www-form-urlencoded", pids[name]!);
  }
  const runs: Record<string, LoadResult[]> = {};
  for (let r = 0; r < rounds; r++) for (const [k, c] of Object.entries(cases)) (runs[k] ??= []).push(await load(c));
  for (const p of [hot.proc, cold.proc]) p.kill("SIGTERM");
  bare.proc.kill();
  await Promise.all([hot.proc.exited, cold.proc.exited, bare.proc.exited]);

  const m = (k: string): LoadResult => merged(runs[k]!);
  console.log(
    `\nHooks benchmark on ${pg ? "Postgres" : "SQLite"}: ${rounds} rounds of ${per} s per case (medians), ${connections} connections, load by ${LOAD_TOOL} (CPU: generator / measured server, % of one core), ${navigator.hardwareConcurrency} CPUs\n`,
  );
  console.log(
    table([
      { name: "bare Elysia route, EMQX authz body", r: m("emqx-bare") },
      { name: "EMQX authz, cache hit", r: m("emqx-hot"), base: m("emqx-bare"), target: 80 },
      { name: "EMQX authz, cold (cache off)", r: m("emqx-cold"), base: m("emqx-bare"), target: 50 },
      { name: "bare Elysia route, RabbitMQ topic body", r: m("rabbit-bare") },
      { name: "RabbitMQ topic, cache hit", r: m("rabbit-hot"), base: m("rabbit-bare"), target: 80 },
      { name: "RabbitMQ topic, cold (cache off)", r: m("rabbit-cold"), base: m("rabbit-bare"), target: 50 },
    ]),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
}
