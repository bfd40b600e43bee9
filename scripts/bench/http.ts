// HTTP benchmark (issue #2): GET one client and POST create against the service, and the same two
// calls against a bare Elysia + bun:sqlite server measured in the same run; plus one bulk create of
// 1,000 clients. Usage: npm run bench  (BENCH_SECONDS, BENCH_CONNECTIONS to change the defaults;
// BENCH_TAGS=k: every created client, POST and bulk, carries k tags, to see what tags cost a write;
// BENCH_CASES=post (or get, or bulk, comma-separated) runs only those cases, each with its baseline)
// On Postgres: npm run bench -- --postgres (or BENCH_DB=postgres): the service with
// MG_CLIENTS_DB_DRIVER=postgres, and the baseline a bare Elysia + postgres.js server, each on a
// fresh database of the local server (scripts/bench/db.ts).
// Load by wrk only (scripts/bench/load.ts: without it the benchmark stops with how to install it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchDatabase, freshDatabase, onPostgres } from "./db.ts";
import { LOAD_TOOL, type LoadResult, load, merged, requireWrk, table } from "./load.ts";
import { freePort, ROOT, startProcess, startService } from "./proc.ts";

requireWrk();
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const dir = mkdtempSync(join(tmpdir(), "mgc-bench-"));
const JSON_HEADERS = { "content-type": "application/json" };
const TAGS = Array.from({ length: Number(process.env.BENCH_TAGS ?? 0) }, (_, i) => `tag-${i}`);
const withTags = TAGS.length > 0 ? { tags: TAGS } : {};
const CASES = new Set((process.env.BENCH_CASES ?? "get,post,bulk").split(",").map((c) => c.trim()));

// Postgres: one database for the service, another for the baseline (each on its own, as on SQLite).
let pg: BenchDatabase | undefined;
let pgBare: BenchDatabase | undefined;
let pgBulk: BenchDatabase | undefined;
try {
  pg = onPostgres ? await freshDatabase("svc") : undefined;
  pgBare = onPostgres ? await freshDatabase("bare") : undefined;
  // Both servers stay up; the cases alternate bare/service over several rounds, so a slow moment of
  // this shared machine hits both sides alike. Each figure is the median of its rounds.
  const port = await freePort();
  const bare = await startProcess(
    [process.execPath, join(ROOT, "scripts/bench/bare-http.ts"), pgBare?.url ?? join(dir, "bare.db"), String(port)],
    {},
    (l) => l === "ready",
  );
  const bareUrl = `http://localhost:${port}`;
  const seeded = (await (await fetch(`${bareUrl}/d/clients`, { method: "POST" })).json()) as { id: string };
  // The service (stdout, with its one log line per request, is read and discarded).
  const svc = await startService(join(dir, "svc"), pg?.env);
  const auth = { authorization: `Bearer ${svc.token}` };
  const created = (await (
    await fetch(`${svc.url}/d/clients`, { method: "POST", body: JSON.stringify({ name: "bench" }), headers: { ...auth, ...JSON_HEADERS } })
  ).json()) as { id: string };

  const rounds = Math.max(1, Math.min(5, Math.floor(seconds / 2)));
  const per = Math.max(1, Math.floor(seconds / rounds)); // wrk takes whole seconds
  const cases = {
    bareGet: { url: `${bareUrl}/d/clients/${seeded.id}`, connections, seconds: per, serverPid: bare.proc.pid, postgres: onPostgres },
    svcGet: { url: `${svc.url}/d/clients/${created.id}`, headers: auth, connections, seconds: per, serverPid: svc.proc.pid, postgres: onPostgres },
    barePost: {
      url: `${bareUrl}/d/clients`,
      method: "POST" as const,
      body: "{}",
      headers: JSON_HEADERS,
      connections,
      seconds: per,
      serverPid: bare.proc.pid,
      postgres: onPostgres,
    },
    svcPost: {
      url: `${svc.url}/d/clients`,
      method: "POST" as const,
      body: JSON.stringify(withTags),
      headers: { ...auth, ...JSON_HEADERS },
      connections,
      seconds: per,
      serverPid: svc.proc.pid,
      postgres: onPostgres,
    },
  };
  const runs: Record<keyof typeof cases, LoadResult[]> = { bareGet: [], svcGet: [], barePost: [], svcPost: [] };
  const chosen = (Object.keys(cases) as (keyof typeof cases)[]).filter((k) => CASES.has(k.endsWith("Get") ? "get" : "post"));
  // One untimed second per case first, both sides alike: the first requests of a server compile
  // its code and (on Postgres) prepare each statement on each pooled connection.
  for (const k of chosen) await load({ ...cases[k], seconds: 1 });
  for (let r = 0; r < rounds; r++) for (const k of chosen) runs[k].push(await load(cases[k]));
  const ratios = (svcRuns: LoadResult[], bareRuns: LoadResult[]) => svcRuns.map((x, i) => `${((x.rps / bareRuns[i]!.rps) * 100).toFixed(1)} %`).join(", ");
  bare.proc.kill();
  await bare.proc.exited;
  svc.proc.kill("SIGTERM");
  await svc.proc.exited;

  // Bulk create on a service of its own (an empty database, as a gateway being provisioned).
  const bulkTimes: number[] = [];
  if (CASES.has("bulk")) {
    pgBulk = pg ? await freshDatabase("bulk") : undefined;
    const fresh = await startService(join(dir, "bulk"), pgBulk?.env);
    const bulkBody = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ name: `bulk-${i}`, ...withTags })));
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await fetch(`${fresh.url}/bulkdom/clients/bulk`, {
        method: "POST",
        body: bulkBody,
        headers: { authorization: `Bearer ${fresh.token}`, ...JSON_HEADERS },
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`bulk create failed: ${r.status}`);
      bulkTimes.push(performance.now() - t0);
    }
    fresh.proc.kill("SIGTERM");
    await fresh.proc.exited;
  }

  console.log(
    `HTTP benchmark on ${pg ? "Postgres" : "SQLite"}${TAGS.length > 0 ? ` (created clients with ${TAGS.length} tags)` : ""}: ${rounds} rounds of ${per} s per case (medians) after 1 s of warm-up each, ${connections} connections, load by ${LOAD_TOOL} (CPU shares below: the generator's and the measured server's${pg ? ", and all of Postgres' processes'" : ""}, % of one core), ${navigator.hardwareConcurrency} CPUs\n`,
  );
  const rows: Parameters<typeof table>[0] = [];
  if (CASES.has("get")) {
    const bareGet = merged(runs.bareGet);
    rows.push(
      { name: `bare GET by primary key (baseline, ${pg ? "postgres.js" : "bun:sqlite"})`, r: bareGet },
      { name: "service GET /{d}/clients/{id}", r: merged(runs.svcGet), base: bareGet, target: 75 },
    );
  }
  if (CASES.has("post")) {
    const barePost = merged(runs.barePost);
    rows.push(
      { name: "bare one-row INSERT (baseline)", r: barePost },
      // DESIGN: ≥ 60 % of the bare insert on SQLite, ≥ 40 % on Postgres.
      { name: "service POST /{d}/clients (+ outbox row)", r: merged(runs.svcPost), base: barePost, target: pg ? 40 : 60 },
    );
  }
  if (rows.length > 0) {
    console.log(table(rows));
    console.log(
      `\nratio per round:${CASES.has("get") ? ` GET ${ratios(runs.svcGet, runs.bareGet)};` : ""}${CASES.has("post") ? ` POST ${ratios(runs.svcPost, runs.barePost)}` : ""}`,
    );
  }
  if (bulkTimes.length > 0) {
    bulkTimes.sort((a, b) => a - b);
    console.log(
      `bulk create of 1,000 clients (empty database), one request: median ${bulkTimes[2]!.toFixed(1)} ms, max ${bulkTimes[4]!.toFixed(1)} ms (target < 250 ms)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
  await pgBare?.drop();
  await pgBulk?.drop();
}
