// Device authentication while maximal bulk creates commit (issue 12 item 4): the service runs as
// its own process (scripts/bench/proc.ts); a load process (scripts/bench/grpc-load.ts) keeps
// BENCH_CONCURRENCY Authenticate calls in flight for BENCH_SECONDS, first alone (baseline), then
// while this script posts bulk creates of the documented maximum (10,000 clients, under the 1 MiB
// body limit) back to back. Reported: the calls' p50/p99/max, and each bulk's duration. Twice: with
// the cache (what an adapter's reconnect sees: only the event loop matters) and without it
// (MG_CLIENTS_CACHE_KEY_DURATION=0: every call reads the database beside the bulk's writes).
// Usage: flock /tmp/mgc-heavy.lock bun scripts/bench/bulk-authn.ts   (SQLite; BENCH_DB=postgres for Postgres)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startService } from "./proc.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BULK = Number(process.env.BENCH_BULK ?? 10_000);
const D = "bench";
const pg = process.env.BENCH_DB === "postgres";

interface Load {
  calls: number;
  rps: number;
  p50: number;
  p99: number;
  max?: number;
  errors: number;
}

async function load(address: string, token: string): Promise<Load> {
  const spec = join(dir, "spec.json");
  writeFileSync(spec, JSON.stringify({ address, service: "clients", method: "Authenticate", requests: [{ token }], concurrency, seconds }));
  const p = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/grpc-load.ts"), spec], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return JSON.parse(out.trim().split("\n").pop()!) as Load;
}

const dir = mkdtempSync(join(tmpdir(), "mgc-bench-bulk-"));
const fmt = (l: Load) => `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, ${Math.round(l.rps)} calls/s, ${l.errors} errors`;

async function pgEnv(name: string): Promise<Record<string, string>> {
  const { default: postgres } = await import("postgres");
  const admin = postgres({ host: "127.0.0.1", user: "postgres", database: "postgres", max: 1, onnotice: () => undefined });
  await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    MG_CLIENTS_DB_DRIVER: "postgres",
    MG_CLIENTS_DB_HOST: "127.0.0.1",
    MG_CLIENTS_DB_USER: "postgres",
    MG_CLIENTS_DB_PASS: "",
    MG_CLIENTS_DB_NAME: name,
  };
}

for (const cache of ["1h", "0"]) {
  const data = mkdtempSync(join(dir, "data-"));
  const env = { MG_CLIENTS_CACHE_KEY_DURATION: cache, ...(pg ? await pgEnv(`mgc_bench_bulk_${process.pid}`) : {}) };
  const svc = await startService(data, env);
  const headers = { authorization: `Bearer ${svc.token}`, "content-type": "application/json" };
  const device = await (
    await fetch(`${svc.url}/${D}/clients`, { method: "POST", headers, body: JSON.stringify({ credentials: { secret: "device-secret" } }) })
  ).json();
  const token = `Basic${Buffer.from(`${(device as { id: string }).id}:device-secret`).toString("base64")}`;
  const baseline = await load(svc.grpcAddress, token);
  let n = 0;
  const bulkMs: number[] = [];
  let stop = false;
  const bulks = (async () => {
    while (!stop) {
      const body = JSON.stringify(
        Array.from({ length: BULK }, (_, i) => ({ name: `bulk-${n}-${i}`, credentials: { secret: `bulk-${n}-${i}-${process.pid}` } })),
      );
      const t0 = performance.now();
      const r = await fetch(`${svc.url}/${D}/clients/bulk`, { method: "POST", headers, body });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`bulk create answered ${r.status}`);
      bulkMs.push(performance.now() - t0);
      n++;
    }
  })();
  const during = await load(svc.grpcAddress, token);
  stop = true;
  await bulks;
  svc.proc.kill();
  await svc.proc.exited;
  bulkMs.sort((a, b) => a - b);
  console.log(`cache ${cache === "0" ? "off" : "on"} (${pg ? "postgres" : "sqlite"}), ${concurrency} Authenticate calls in flight`);
  console.log(`  alone:                          ${fmt(baseline)}`);
  console.log(`  during bulks of ${BULK}:         ${fmt(during)}`);
  console.log(`  bulks: ${bulkMs.length}, median ${Math.round(bulkMs[bulkMs.length >> 1] ?? 0)} ms, max ${Math.round(bulkMs.at(-1) ?? 0)} ms`);
}
rmSync(dir, { recursive: true, force: true });
