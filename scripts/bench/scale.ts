// Scale benchmark (issue #17): N clients (default 100,000), N/100 channels and 2N connections in one
// domain, then every row of the issue's table, each with its figure, its target and PASS/FAIL:
//   lists     every list of contract §2, one request at a time: p99 < 20 ms; service RSS after them < 200 MiB
//   startup   compiled binary on that database to its first /health 200 < 1 s
//   grpc      Authenticate / Authorize, the first call per client (a fresh service, warmed on 100 other clients): p99 < 2 ms
//   create    POST /{d}/clients against a bare one-row insert route, same run (Postgres: ≥ 40 %)
//   transfer  export → import → export (identical), backup, restore: peak RSS < 128 MiB each, throughput
//
// Usage: bun scripts/bench/scale.ts [--n 1000000] [--postgres] [--data DIR] [--phases lists,grpc,...]
//   --data DIR   keep the seeded database in DIR (Postgres: database mgc_scale_<n>, named in DIR) and
//                reuse it on the next run, so seeding and each measurement can run separately
//   --phases     seed,lists,startup,grpc,create,transfer,backup (default: all; seed runs when one needs data)
//   --samples K  requests per list (default 200; a list stops early after 20 s)
//   --lists A,B  only the lists whose names contain one of these (e.g. --lists tags,created)
//   --page-cache what the gRPC phase's service finds of the database in the OS page cache (SQLite):
//                as-is (default) whatever the last minutes left; cold: the file's pages dropped first
//                (what this VM's reclaim does to pages unread for a minute); restart: cold, then a
//                service that runs until its first prewarm pass (MG_CLIENTS_DB_PREWARM) and stops,
//                so that the measured one is its restart
//   --grpc-client the gRPC phase's measuring client (a process of its own, scripts/bench/first-calls.ts):
//                h2 (default: pre-encoded requests on one node:http2 connection) or grpc-js (the same
//                bytes through a grpc-js client, for comparison)
//   --gc-log     run the measured service and the measuring client with BUN_JSC_logGC=1 and report
//                their collectors' pauses during the calls, and which calls they landed on
//   --service-env K=V,K=V  more environment for the gRPC phase's measured service (e.g. BUN_JSC_* options)
//   --settle MS  leave the gRPC phase's service idle MS ms after its start before the first call (default 0)
// Run it under the heavy lock (PROTOCOL.md): flock /tmp/mgc-heavy.lock bun scripts/bench/scale.ts …

import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { grpcDefinitions } from "../../src/grpc/server.ts";
import { freshDatabase } from "./db.ts";
import { type GrpcMethod, grpcFrame } from "./h2load.ts";
import { load } from "./load.ts";
import { freePort, ROOT, startProcess } from "./proc.ts";
import { ADMIN_ID, channelsFor, clientShape, DOMAIN, seedPostgres, seedSqlite, T0_US } from "./scale-seed.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    postgres: { type: "boolean", default: false },
    data: { type: "string" },
    phases: { type: "string", default: "lists,startup,grpc,create,transfer,backup" },
    samples: { type: "string", default: "200" },
    lists: { type: "string" },
    binary: { type: "string" },
    "page-cache": { type: "string", default: "as-is" },
    "grpc-client": { type: "string", default: "h2" },
    "gc-log": { type: "boolean", default: false },
    "service-env": { type: "string" },
    settle: { type: "string", default: "0" },
  },
});
const N = Number(args.n);
const onPg = args.postgres === true || process.env.BENCH_DB === "postgres";
const phases = new Set(args.phases!.split(","));
const SAMPLES = Number(args.samples);
const TOKEN = "bench-token";
const MiB = 2 ** 20;

const PG = {
  host: process.env.BENCH_PG_HOST ?? "127.0.0.1",
  port: Number(process.env.BENCH_PG_PORT ?? 5432),
  user: process.env.BENCH_PG_USER ?? "postgres",
  pass: process.env.BENCH_PG_PASS ?? "",
};
const pgUrl = (db: string) => `postgres://${encodeURIComponent(PG.user)}${PG.pass ? `:${encodeURIComponent(PG.pass)}` : ""}@${PG.host}:${PG.port}/${db}`;
const pgEnv = (db: string) => ({
  MG_CLIENTS_DB_DRIVER: "postgres",
  MG_CLIENTS_DB_HOST: PG.host,
  MG_CLIENTS_DB_PORT: String(PG.port),
  MG_CLIENTS_DB_USER: PG.user,
  MG_CLIENTS_DB_PASS: PG.pass,
  MG_CLIENTS_DB_NAME: db,
});
const admin = () => postgres(pgUrl("postgres"), { max: 1, onnotice: () => undefined });

const keep = args.data !== undefined;
const dir = args.data ?? mkdtempSync(join(tmpdir(), "mgc-scale-"));
mkdirSync(dir, { recursive: true });
/** Postgres: one database per data directory (kept with it), or one for this run. */
const pgDb = keep
  ? `mgc_scale_${basename(dir)
      .replace(/[^a-z0-9]/gi, "_")
      .toLowerCase()}`
  : `mgc_scale_${N}_${process.pid}`;
const dbEnv = (dataDir: string, db = pgDb): Record<string, string> => ({
  MG_CLIENTS_DB_PATH: join(dataDir, "clients.db"),
  ...(onPg ? pgEnv(db) : { MG_CLIENTS_DB_DRIVER: "sqlite" }),
});
const baseEnv = {
  MIMALLOC_PURGE_DELAY: "0",
  MG_CLIENTS_ES_URL: "",
  MG_CLIENTS_LOG_LEVEL: "warn",
  MG_CLIENTS_STANDALONE_ID: ADMIN_ID,
  MG_CLIENTS_STANDALONE_TOKEN: TOKEN,
};

interface Verdict {
  what: string;
  figure: string;
  target: string;
  pass: boolean | undefined;
}
const verdicts: Verdict[] = [];
const verdict = (what: string, figure: string, target: string, pass: boolean | undefined) => {
  verdicts.push({ what, figure, target, pass });
  console.log(`${pass === undefined ? "INFO" : pass ? "PASS" : "FAIL"}  ${what}: ${figure} (target ${target})`);
};
const ms = (x: number) => `${x.toFixed(2)} ms`;
const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

function cli(args: string[], env: Record<string, string>): { code: number; out: string; err: string; seconds: number; peakKiB: number } {
  const p = Bun.spawnSync(["/usr/bin/time", "-f", "TIME %e %M", process.execPath, join(ROOT, "src/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...baseEnv, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const err = p.stderr.toString();
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(err);
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: err.replace(/TIME [\d.]+ \d+\s*$/, ""), seconds: Number(m?.[1]), peakKiB: Number(m?.[2]) };
}

/** Starts the service (from source) on the seeded data; ready when /health answers 200. */
async function service(extra: Record<string, string> = {}, dataDir = dir, stderr?: (s: ReadableStream<Uint8Array>) => Promise<void>) {
  const port = await freePort();
  const grpcPort = await freePort();
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...baseEnv, ...dbEnv(dataDir), MG_CLIENTS_HTTP_PORT: String(port), MG_CLIENTS_GRPC_PORT: String(grpcPort), ...extra },
    stdout: "ignore",
    stderr: stderr ? "pipe" : "inherit",
  });
  const stderrRead = stderr?.(proc.stderr as ReadableStream<Uint8Array>);
  const url = `http://localhost:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error("the service exited");
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      if (i > 3000) throw new Error("the service did not start");
    }
    await Bun.sleep(10);
  }
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    await stderrRead;
  };
  return { proc, url, grpcAddress: `localhost:${grpcPort}`, stop };
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;

// ---------------------------------------------------------------------------------------------
// seed
const marker = join(dir, "seeded.json");
async function seed(): Promise<void> {
  if (existsSync(marker)) {
    const m = JSON.parse(readFileSync(marker, "utf8")) as { n: number; backend: string };
    if (m.n === N && m.backend === (onPg ? "postgres" : "sqlite")) return;
    throw new Error(`${dir} holds another data set (${JSON.stringify(m)})`);
  }
  const key = randomBytes(32);
  writeFileSync(join(dir, "installation.key"), `${key.toString("hex")}\n`, { mode: 0o600 });
  if (onPg) {
    const a = admin();
    await a.unsafe(`DROP DATABASE IF EXISTS "${pgDb}" WITH (FORCE)`);
    await a.unsafe(`CREATE DATABASE "${pgDb}" TEMPLATE template0 ENCODING 'UTF8'`);
    await a.end();
  }
  const m = cli(["migrate"], dbEnv(dir));
  if (m.code !== 0) throw new Error(`migrate failed: ${m.err}`);
  if (onPg) await seedPostgres(pgUrl(pgDb), N, key);
  else seedSqlite(join(dir, "clients.db"), N, key);
  writeFileSync(marker, JSON.stringify({ n: N, backend: onPg ? "postgres" : "sqlite", database: onPg ? pgDb : undefined }));
}

// ---------------------------------------------------------------------------------------------
// lists
async function lists(): Promise<void> {
  const svc = await service();
  const headers = { authorization: `Bearer ${TOKEN}` };
  const get = async (path: string) => {
    const r = await fetch(svc.url + path, { headers });
    const body = (await r.json()) as { total: number; clients?: { id: string }[]; channels?: { id: string }[]; message?: string };
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.message}`);
    return body;
  };
  // A few ids to ask about: clients by their (unique) names, channels through their clients.
  const pick = (k: number) => Math.floor(((k * 7919 + 13) % 9973) * (N / 9973));
  const ids: string[] = [];
  for (let k = 0; k < 20; k++) {
    const i = pick(k);
    const page = await get(`/${DOMAIN}/clients?name=device-${i}&status=all&limit=100`);
    const exact = page.clients?.find((c) => (c as unknown as { name: string }).name === `device-${i}`);
    if (exact) ids.push(exact.id);
  }
  const channelIds: string[] = [];
  for (const id of ids.slice(0, 10)) for (const ch of (await get(`/${DOMAIN}/channels?client=${id}`)).channels ?? []) channelIds.push(ch.id);
  const from = (i: number) => new Date((T0_US + i * 1000) / 1000).toISOString();
  const window = Math.max(1, Math.floor(N / 100));
  const v = <T>(xs: T[], k: number) => xs[k % xs.length]!;
  const cases: [string, (k: number) => string, number][] = [
    ["default page (enabled, updated_at desc)", () => `/${DOMAIN}/clients`, 0],
    ["name substring", (k) => `/${DOMAIN}/clients?name=device-${4242 + (k % 20)}`, 0],
    ["tags any (2 of 50 racks)", (k) => `/${DOMAIN}/clients?tags=rack-${k % 50},rack-${(k + 13) % 50}`, 0],
    ["tags all (rack and zone)", (k) => `/${DOMAIN}/clients?tags=rack-${k % 50}%2Bzone-${k % 7}`, 0],
    ["metadata containment (1 floor of 10)", (k) => `/${DOMAIN}/clients?metadata=${encodeURIComponent(JSON.stringify({ floor: k % 10 }))}`, 0],
    ["status=disabled", () => `/${DOMAIN}/clients?status=disabled`, 0],
    [
      "created range (1 % of the clients)",
      (k) => {
        const start = pick(k) % Math.max(1, N - window);
        return `/${DOMAIN}/clients?created_from=${from(start)}&created_to=${from(start + window)}`;
      },
      0,
    ],
    ["order=name", (k) => `/${DOMAIN}/clients?order=name&dir=${k % 2 ? "asc" : "desc"}`, 0],
    [`offset=${N / 2}`, () => `/${DOMAIN}/clients?offset=${N / 2}`, 0],
    ["only_total", () => `/${DOMAIN}/clients?only_total=true`, 0],
    ["a channel's clients", (k) => `/${DOMAIN}/clients?channel=${v(channelIds, k)}`, 0],
    ["a client's channels", (k) => `/${DOMAIN}/channels?client=${v(ids, k)}`, 0],
  ];
  console.log(`\nlists at ${N} clients on ${onPg ? "Postgres" : "SQLite"}, sequential requests (${navigator.hardwareConcurrency} CPUs)\n`);
  console.log("| list | p50 ms | p99 ms | slowest 3 ms | samples | total (1st) |");
  console.log("|---|---:|---:|---:|---:|---:|");
  const rows: [string, number, number, number, number][] = [];
  const only = args.lists?.split(",");
  for (const [name, path] of cases) {
    if (only && !only.some((o) => name.includes(o))) continue;
    for (let k = 0; k < 3; k++) await get(path(k)); // warm-up
    const times: number[] = [];
    let total = -1;
    const started = performance.now();
    for (let k = 0; k < SAMPLES && (k < 20 || performance.now() - started < 20_000); k++) {
      const s = performance.now();
      const body = await get(path(k));
      times.push(performance.now() - s);
      if (total < 0) total = body.total;
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    rows.push([name, p(0.5), p(0.99), times.length, total]);
    const slowest = times
      .slice(-3)
      .reverse()
      .map((t) => t.toFixed(1))
      .join(", ");
    console.log(`| ${name} | ${p(0.5).toFixed(2)} | ${p(0.99).toFixed(2)} | ${slowest} | ${times.length} | ${total} |`);
  }
  console.log("");
  for (const [name, , p99] of rows) verdict(`list: ${name}, p99`, ms(p99), "< 20 ms", p99 < 20);
  const rss = rssOf(svc.proc.pid);
  verdict("service RSS after the lists", `${(rss / MiB).toFixed(1)} MiB`, "< 200 MiB", rss < 200 * MiB);
  await svc.stop();
}

// ---------------------------------------------------------------------------------------------
// startup (compiled binary)
async function startup(): Promise<void> {
  let binary = args.binary;
  if (!binary) {
    binary = join(dir, "bin", "magistrala-clients");
    const b = Bun.spawnSync(
      [
        process.execPath,
        "build",
        "--compile",
        // as scripts/build.ts: with bytecode a worker's URL resolves inside the binary (the prewarm's)
        "--bytecode",
        "--minify",
        "--asset=drizzle",
        "--asset=proto",
        "src/main.ts",
        "src/db/sqlite/prewarm-worker.ts",
        "--outfile",
        binary,
      ],
      {
        cwd: ROOT,
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    if (b.exitCode !== 0) throw new Error(`build failed: ${b.stderr.toString()}`);
  }
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const port = await freePort();
    const t0 = performance.now();
    const proc = Bun.spawn([binary, "serve"], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? "",
        ...baseEnv,
        ...dbEnv(dir),
        MG_CLIENTS_HTTP_HOST: "127.0.0.1",
        MG_CLIENTS_HTTP_PORT: String(port),
        MG_CLIENTS_GRPC_PORT: "0",
      },
      stdout: "ignore",
      stderr: "inherit",
    });
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${binary} exited with ${proc.exitCode}`);
      if (performance.now() - t0 > 30_000) throw new Error("no /health 200 within 30 s");
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await Bun.sleep(2);
    }
    times.push(performance.now() - t0);
    proc.kill("SIGTERM");
    await proc.exited;
  }
  times.sort((a, b) => a - b);
  console.log(`start-up runs: ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
  verdict("start-up to first /health 200 (compiled binary, median of 5)", ms(times[2]!), "< 1000 ms", times[2]! < 1000);
}

// ---------------------------------------------------------------------------------------------
// grpc: the first call per client, on a freshly started service (warmed on other clients' first calls)
/** A collector pause as a process's BUN_JSC_logGC=1 log tells it: when it ended (ms since the epoch) and how long it took. */
interface Pause {
  end: number;
  ms: number;
  /** The heap's address in the log: a worker thread (the prewarm's) has a heap of its own, whose pauses stop only that thread. */
  heap: string;
  /** Of an Eden (young objects) or a Full collection. */
  kind: string;
}

/**
 * Reads a process's stderr: BUN_JSC_logGC=1 lines become pauses (JSC logs `p=<ms>ms` when the
 * mutator resumes: the line's arrival, on this idle process, is the pause's end), anything else
 * is passed on to this process's stderr.
 */
function readGcLog(stream: ReadableStream<Uint8Array>, into: Pause[]): Promise<void> {
  return (async () => {
    const decoder = new TextDecoder();
    const cycle = new Map<string, string>();
    let buf = "";
    for await (const chunk of stream) {
      const at = performance.timeOrigin + performance.now();
      buf += decoder.decode(chunk, { stream: true });
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const line of lines) {
        const m = /^\[GC<(\w+)>:.*\bp=([\d.]+)ms/.exec(line);
        const started = /^\[GC<(\w+)>: START .*=> (\w+)Collection/.exec(line);
        if (started) cycle.set(started[1]!, started[2]!);
        if (m) into.push({ end: at, ms: Number(m[2]), heap: m[1]!, kind: cycle.get(m[1]!) ?? "?" });
        else if (!line.startsWith("[GC<") && !line.startsWith("Requesting GC") && line !== "GC END!" && line !== "") console.error(line);
      }
    }
  })();
}

async function grpcPhase(): Promise<void> {
  const defs = grpcDefinitions();
  const authnM = defs.clients.Authenticate as unknown as GrpcMethod;
  const authzM = defs.channels.Authorize as unknown as GrpcMethod;
  // Which clients: distinct, spread over the whole set; their ids and publish channels read from
  // the database itself (the lists under test are not the way to find them).
  const K = Math.min(1000, Math.floor(N / 2));
  const picks = Array.from({ length: 2 * K }, (_, k) => Math.floor((k * (N - 1)) / (2 * K - 1))).filter((i) => clientShape(i).status === 0);
  // Other clients, for the warm-up: their first calls make the process run the cold path (JIT,
  // allocations) before the measured clients' first calls.
  const picked = new Set(picks);
  const warmPicks = Array.from({ length: 100 }, (_, k) => Math.floor((k * (N - 2)) / 99) + 1).filter((i) => !picked.has(i) && clientShape(i).status === 0);
  const names = [...picks, ...warmPicks].map((i) => `device-${i}`);
  const lookupSql = `SELECT c.name, c.id, k.channel_id FROM clients c JOIN connections k ON k.client_id = c.id AND k.type = 1
    WHERE c.domain_id = '${DOMAIN}' AND c.name IN (${names.map((n) => `'${n}'`).join(", ")})`;
  let found: { name: string; id: string; channel_id: string }[];
  if (onPg) {
    const q = postgres(pgUrl(pgDb), { max: 1, onnotice: () => undefined });
    found = (await q.unsafe(lookupSql)) as unknown as typeof found;
    await q.end();
  } else {
    const conn = new Database(join(dir, "clients.db"), { readonly: true });
    found = conn.query(lookupSql).all() as typeof found;
    conn.close();
  }
  const byName = new Map(found.map((r) => [r.name, r]));
  const resolve = (xs: number[]) =>
    xs.flatMap((i) => {
      const r = byName.get(`device-${i}`);
      return r ? [{ i, id: r.id, channel: r.channel_id }] : [];
    });
  const lookups = resolve(picks);
  const warm = resolve(warmPicks);

  // Every request encoded before the service starts: the measuring client only sends bytes.
  type Kind = "authn" | "authz" | "hit" | "warm";
  const calls: { kind: Kind; method: GrpcMethod; frame: Buffer }[] = [];
  const authnCall = (kind: Kind, l: { id: string; i: number }) =>
    calls.push({ kind, method: authnM, frame: grpcFrame(authnM, { token: `Basic${Buffer.from(`${l.id}:secret-${l.i}`).toString("base64")}` }) });
  const authzCall = (kind: Kind, l: { id: string; channel: string }) =>
    calls.push({
      kind,
      method: authzM,
      frame: grpcFrame(authzM, { domain_id: DOMAIN, client_id: l.id, client_type: "client", channel_id: l.channel, type: 1 }),
    });
  // The connection warmed on calls of no measured client (a denial, the super-admin), then the
  // process on the first calls of clients outside the measured set.
  calls.push({ kind: "warm", method: authnM, frame: grpcFrame(authnM, { token: "Basic bm9ib2R5Om5vdGhpbmc=" }) });
  authzCall("warm", { id: ADMIN_ID, channel: lookups[0]!.channel });
  for (const l of warm) {
    authnCall("warm", l);
    authzCall("warm", l);
  }
  const measureFrom = calls.length;
  for (const [k, l] of lookups.entries()) {
    if (k % 2 === 0) authnCall("authn", l);
    else authzCall("authz", l);
  }
  // The same Authenticate calls again (cache hits): what the rest of a call costs on this machine.
  for (let k = 0; k < lookups.length; k += 2) authnCall("hit", lookups[k]!);

  if (!onPg) await pageCache(args["page-cache"]!);
  const gcLog = args["gc-log"] === true;
  const gcEnv: Record<string, string> = gcLog ? { BUN_JSC_logGC: "1" } : {};
  const serviceEnv = Object.fromEntries(
    (args["service-env"] ?? "").split(",").flatMap((kv) => (kv.includes("=") ? [kv.split("=", 2) as [string, string]] : [])),
  );
  // A fresh service: every measured call is the first one for its client.
  const servicePauses: Pause[] = [];
  const clientPauses: Pause[] = [];
  const cold = await service({ ...gcEnv, ...serviceEnv }, dir, gcLog ? (s) => readGcLog(s, servicePauses) : undefined);
  const readyAt = performance.timeOrigin + performance.now();
  await Bun.sleep(Number(args.settle));
  const specFile = join(tmpdir(), `mgc-first-calls-${process.pid}.json`);
  const client = args["grpc-client"] === "grpc-js" ? "grpc-js" : "h2";
  writeFileSync(
    specFile,
    JSON.stringify({ address: cold.grpcAddress, client, measureFrom, calls: calls.map((c) => ({ path: c.method.path, frame: c.frame.toString("base64") })) }),
  );
  let result: { start: number[]; ms: number[]; status: (string | null)[]; reply: string[] };
  try {
    const proc = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/first-calls.ts"), specFile], {
      cwd: ROOT,
      env: { ...process.env, ...gcEnv },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out] = await Promise.all([new Response(proc.stdout).text(), readGcLog(proc.stderr, clientPauses)]);
    if ((await proc.exited) !== 0) throw new Error("the measuring client failed");
    result = JSON.parse(out);
  } finally {
    rmSync(specFile, { force: true });
  }
  const rss = rssOf(cold.proc.pid);
  await cold.stop();
  if (!onPg) console.log(`page cache after the run: ${resident()}`);

  const measured = calls.map((c, k) => ({ ...c, k, start: result.start[k]!, ms: result.ms[k]! })).slice(measureFrom);
  let wrong = 0;
  for (const c of measured) {
    const reply = result.status[c.k] === "0" ? (c.method.responseDeserialize(Buffer.from(result.reply[c.k]!, "base64")) as Record<string, unknown>) : {};
    if (!(c.kind === "authz" ? reply.authorized : reply.authenticated)) wrong++;
  }
  const of = (kind: Kind) => measured.filter((c) => c.kind === kind);
  const authn = of("authn");
  const authz = of("authz");
  const again = of("hit");
  const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  const p99 = (xs: number[]) => at(xs, 0.99);
  const fig = (xs: { ms: number }[]) =>
    `${at(
      xs.map((x) => x.ms),
      0.5,
    ).toFixed(2)}/${p99(xs.map((x) => x.ms)).toFixed(2)}`;
  console.log(
    `gRPC p50/p99 ms (${client} client, one connection, one call at a time): Authenticate first call ${fig(authn)}, Authorize first call ${fig(authz)}, Authenticate cache hit (reference) ${fig(again)}`,
  );
  // Which calls were slow (their order among the first calls: early ones point at warm-up, spread ones at the machine).
  const firsts = measured.filter((c) => c.kind !== "hit");
  const slowest = (xs: typeof measured) =>
    xs
      .map((c) => [c.ms, firsts.indexOf(c)] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 12)
      .map(([t, k]) => `${t.toFixed(1)}@${k}`)
      .join(" ");
  console.log(`slowest first calls (ms@order): Authenticate ${slowest(authn)}; Authorize ${slowest(authz)}`);
  const last = measured.at(-1)!;
  console.log(
    `service RSS after the calls: ${(rss / MiB).toFixed(1)} MiB; the measured calls ran from ${(measured[0]!.start - readyAt).toFixed(0)} to ${(last.start + last.ms - readyAt).toFixed(0)} ms after its first /health 200`,
  );
  if (gcLog) gcReport(measured, servicePauses, clientPauses);
  if (wrong > 0) console.log(`!! ${wrong} calls answered no`);
  verdict(
    `gRPC Authenticate, first call per client (${authn.length} clients), p99`,
    ms(p99(authn.map((c) => c.ms))),
    "< 2 ms",
    p99(authn.map((c) => c.ms)) < 2 && wrong === 0,
  );
  verdict(
    `gRPC Authorize, first call per client (${authz.length} clients), p99`,
    ms(p99(authz.map((c) => c.ms))),
    "< 2 ms",
    p99(authz.map((c) => c.ms)) < 2 && wrong === 0,
  );
}

/**
 * What the two processes' collectors did during the measured calls, and which calls they landed
 * on: a call overlaps a pause when the pause's span (its end less its length, widened by `SLACK`
 * ms for the log line's way through the pipe) meets the call's.
 */
function gcReport(measured: { kind: string; start: number; ms: number }[], servicePauses: Pause[], client: Pause[]): void {
  const SLACK = 0.3;
  // The main thread's heap is the first to collect (while the modules load); others are workers'.
  const main = servicePauses[0]?.heap;
  const service = servicePauses.filter((p) => p.heap === main);
  const workers = servicePauses.length - service.length;
  const from = measured[0]!.start;
  const to = Math.max(...measured.map((c) => c.start + c.ms));
  const during = (ps: Pause[]) => ps.filter((p) => p.end >= from && p.end - p.ms <= to + SLACK);
  const describe = (ps: Pause[]) => {
    const d = during(ps);
    const over1 = d.filter((p) => p.ms > 1).length;
    return `${d.length} pauses (${over1} over 1 ms, max ${Math.max(0, ...d.map((p) => p.ms)).toFixed(2)} ms, ${d.reduce((n, p) => n + p.ms, 0).toFixed(1)} ms in all; ${ps.length} in the process's life)`;
  };
  const long = during(service).filter((p) => p.ms > 1);
  if (long.length)
    console.log(
      `service pauses over 1 ms (ms after the first measured call: length, collection): ${long.map((p) => `+${(p.end - from).toFixed(0)}: ${p.ms.toFixed(1)} ${p.kind}`).join(", ")}`,
    );
  console.log(
    `collector during the ${measured.length} measured calls: service (main thread) ${describe(service)}; measuring client ${describe(client)}; the service's worker threads paused ${workers} times in all (their own threads only)`,
  );
  const hits = (c: { start: number; ms: number }, ps: Pause[]) => ps.some((p) => p.end - p.ms - SLACK <= c.start + c.ms && p.end + SLACK >= c.start);
  for (const kind of ["authn", "authz", "hit"]) {
    const xs = measured.filter((c) => c.kind === kind);
    const sorted = [...xs].sort((a, b) => b.ms - a.ms);
    const tail = sorted.slice(0, Math.max(1, Math.ceil(xs.length / 100) + 1)); // the calls at and above the p99
    const onService = xs.filter((c) => hits(c, service));
    const onClient = xs.filter((c) => hits(c, client));
    const clean = xs.filter((c) => !hits(c, service) && !hits(c, client)).map((c) => c.ms);
    console.log(
      `  ${kind}: ${onService.length} of ${xs.length} calls met a service pause, ${onClient.length} a client pause; of the ${tail.length} slowest (${tail.map((c) => c.ms.toFixed(1)).join(", ")} ms) ${tail.filter((c) => hits(c, service)).length} met a service pause, ${tail.filter((c) => hits(c, client)).length} a client pause; p99 of the others ${clean.length ? clean.sort((a, b) => a - b)[Math.min(clean.length - 1, Math.floor(0.99 * clean.length))]!.toFixed(2) : "—"} ms`,
    );
  }
}

/** How much of the SQLite file the OS page cache holds (fincore). */
function resident(): string {
  const file = join(dir, "clients.db");
  const out = Bun.spawnSync(["fincore", "--bytes", "--noheadings", "--output", "RES", file]).stdout.toString().trim();
  return `${(Number(out) / MiB).toFixed(0)} of ${(statSync(file).size / MiB).toFixed(0)} MiB of clients.db resident`;
}

/** Brings the OS page cache to the state --page-cache asks for, and says what it holds. */
async function pageCache(mode: string): Promise<void> {
  if (!["as-is", "cold", "restart"].includes(mode)) throw new Error(`--page-cache ${mode}: as-is, cold or restart`);
  if (mode !== "as-is") {
    // GNU dd with iflag=nocache and no blocks: drops the file's cached pages (POSIX_FADV_DONTNEED).
    for (const f of ["clients.db", "clients.db-wal"]) {
      if (existsSync(join(dir, f))) Bun.spawnSync(["dd", `if=${join(dir, f)}`, "iflag=nocache", "count=0", "status=none"]);
    }
  }
  if (mode === "restart") {
    const t0 = performance.now();
    const { proc, line } = await startProcess(
      [process.execPath, join(ROOT, "src/main.ts")],
      {
        ...baseEnv,
        ...dbEnv(dir),
        MG_CLIENTS_LOG_LEVEL: "info",
        MG_CLIENTS_DB_PREWARM: "on",
        MG_CLIENTS_HTTP_PORT: String(await freePort()),
        MG_CLIENTS_GRPC_PORT: String(await freePort()),
        MG_CLIENTS_HOOKS_PORT: "",
      },
      (l) => l.includes("page cache prewarmed"),
    );
    proc.kill("SIGTERM");
    await proc.exited;
    const pass = JSON.parse(line) as { pages: number; mib: number; ms: number };
    console.log(`previous instance: started, prewarmed ${pass.pages} pages (${pass.mib} MiB read) in ${pass.ms} ms, stopped (${secs(t0)} s)`);
  }
  console.log(`page cache before the gRPC phase (${mode}, MG_CLIENTS_DB_PREWARM=${process.env.MG_CLIENTS_DB_PREWARM ?? "default"}): ${resident()}`);
}

// ---------------------------------------------------------------------------------------------
// create: POST /{d}/clients against a bare one-row insert route, on empty databases, same run
async function create(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "mgc-scale-create-"));
  const svcDb = onPg ? await freshDatabase("scalesvc") : undefined;
  const bareDb = onPg ? await freshDatabase("scalebare") : undefined;
  try {
    const port = await freePort();
    const bare = await startProcess(
      [process.execPath, join(ROOT, "scripts/bench/bare-http.ts"), bareDb?.url ?? join(work, "bare.db"), String(port)],
      {},
      (l) => l === "ready",
    );
    mkdirSync(join(work, "svc"));
    const svc = await service(svcDb?.env ?? {}, join(work, "svc"));
    const json = { "content-type": "application/json" };
    const spec = (url: string, headers: Record<string, string>) => ({ url, method: "POST" as const, body: "{}", headers, connections: 64, seconds: 3 });
    const bareRuns: number[] = [];
    const svcRuns: number[] = [];
    for (let r = 0; r < 3; r++) {
      bareRuns.push((await load(spec(`http://localhost:${port}/d/clients`, json))).rps);
      svcRuns.push((await load(spec(`${svc.url}/d/clients`, { ...json, authorization: `Bearer ${TOKEN}` }))).rps);
    }
    bare.proc.kill();
    await bare.proc.exited;
    await svc.stop();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const ratio = (med(svcRuns) / med(bareRuns)) * 100;
    console.log(`POST create: service ${svcRuns.map((x) => x.toFixed(0)).join(", ")} /s; bare insert ${bareRuns.map((x) => x.toFixed(0)).join(", ")} /s`);
    verdict(
      `POST create on ${onPg ? "Postgres" : "SQLite"} (${med(svcRuns).toFixed(0)}/s vs bare ${med(bareRuns).toFixed(0)}/s, medians of 3)`,
      `${ratio.toFixed(1)} %`,
      onPg ? "≥ 40 %" : "≥ 60 % (DESIGN.md)",
      ratio >= (onPg ? 40 : 60),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await svcDb?.drop();
    await bareDb?.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// transfer: export → import → export, backup, restore
async function transfer(dumps: boolean, backups: boolean): Promise<void> {
  const work = join(dir, "transfer");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "imported"), { recursive: true });
  const importDb = `${pgDb}_import`;
  const mb = (path: string) => statSync(path).size / 1e6;
  const counted = (out: string) => [...out.matchAll(/(\w+) (\d+)/g)].reduce((n, m) => n + Number(m[2]), 0);
  const quiet = process.env.BENCH_TRANSFER_FLAGS?.split(" ").filter(Boolean) ?? [];
  const step = (what: string, r: ReturnType<typeof cli>, rows: number, bytes: number) => {
    if (r.code !== 0) throw new Error(`${what} failed: ${r.err}`);
    const peak = r.peakKiB * 1024;
    verdict(
      `${what}: ${r.seconds.toFixed(1)} s, ${(rows / r.seconds).toFixed(0)} rows/s, ${(bytes / r.seconds).toFixed(1)} MB/s; peak RSS`,
      `${(peak / MiB).toFixed(1)} MiB`,
      "< 128 MiB",
      peak < 128 * MiB,
    );
  };
  try {
    const dump1 = join(work, "dump1.jsonl");
    const e1 = cli(["export", ...quiet, dump1], dbEnv(dir));
    const rows = counted(e1.out);
    if (dumps) await roundTrip(dump1, e1, rows);
    if (backups && !onPg) {
      const backupFile = join(work, "backup.db");
      const b = cli(["backup", ...quiet, backupFile], dbEnv(dir));
      step("backup", b, rows, mb(backupFile));
      mkdirSync(join(work, "restored"));
      const r = cli(["restore", ...quiet, backupFile], dbEnv(join(work, "restored")));
      step("restore", r, rows, mb(backupFile));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (onPg) {
      const a = admin();
      await a.unsafe(`DROP DATABASE IF EXISTS "${importDb}" WITH (FORCE)`);
      await a.end();
    }
  }

  async function roundTrip(dump1: string, e1: ReturnType<typeof cli>, rows: number) {
    step("export", e1, rows, mb(dump1));
    if (onPg) {
      const a = admin();
      await a.unsafe(`DROP DATABASE IF EXISTS "${importDb}" WITH (FORCE)`);
      await a.unsafe(`CREATE DATABASE "${importDb}" TEMPLATE template0 ENCODING 'UTF8'`);
      await a.end();
    }
    const i1 = cli(["import", ...quiet, dump1], dbEnv(join(work, "imported"), importDb));
    step("import", i1, rows, mb(dump1));
    const dump2 = join(work, "dump2.jsonl");
    const e2 = cli(["export", ...quiet, dump2], dbEnv(join(work, "imported"), importDb));
    if (e2.code !== 0) throw new Error(`second export failed: ${e2.err}`);
    // Identical but for the header's created_at.
    const cmp = Bun.spawnSync(["bash", "-c", 'cmp -s <(tail -n +2 "$1") <(tail -n +2 "$2") && echo same', "_", dump1, dump2]);
    const header = (f: string) => {
      const first = Bun.spawnSync(["head", "-c", "100000", f]).stdout.toString().split("\n")[0]!;
      const h = JSON.parse(first) as Record<string, unknown>;
      delete h.created_at;
      return JSON.stringify(h);
    };
    const identical = cmp.stdout.toString().trim() === "same" && header(dump1) === header(dump2);
    verdict(`export → import → export of ${rows} rows (${mb(dump1).toFixed(0)} MB)`, identical ? "identical" : "DIFFERENT", "identical", identical);
    rmSync(dump2, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
const t0 = performance.now();
try {
  console.log(`scale benchmark: ${N} clients, ${channelsFor(N)} channels, ${2 * N} connections on ${onPg ? "Postgres" : "SQLite"} (data in ${dir})`);
  if (["seed", "lists", "startup", "grpc", "transfer", "backup"].some((p) => phases.has(p))) await seed();
  if (phases.has("lists")) await lists();
  if (phases.has("startup")) await startup();
  if (phases.has("grpc")) await grpcPhase();
  if (phases.has("create")) await create();
  if (phases.has("transfer") || phases.has("backup")) await transfer(phases.has("transfer"), phases.has("backup"));
  console.log(`\n| what | figure | target | verdict |\n|---|---:|---|---|`);
  for (const v of verdicts) console.log(`| ${v.what} | ${v.figure} | ${v.target} | ${v.pass === undefined ? "—" : v.pass ? "PASS" : "FAIL"} |`);
  const failed = verdicts.filter((v) => v.pass === false).length;
  console.log(`\n${failed === 0 ? "PASS" : "FAIL"}: ${verdicts.length - failed} of ${verdicts.length} targets met (${secs(t0)} s)`);
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  if (!keep) {
    rmSync(dir, { recursive: true, force: true });
    if (onPg) {
      const a = admin();
      await a.unsafe(`DROP DATABASE IF EXISTS "${pgDb}" WITH (FORCE)`);
      await a.end();
    }
  }
}
