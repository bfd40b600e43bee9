// gRPC benchmark (issue #5): seeds 10,000 clients, 1,000 channels and 50,000 connections, then
// drives Authenticate and Authorize with 32 calls in flight for 10 s each — warm (cache hits),
// cold (every call a cache miss: the service restarted with MG_CLIENTS_CACHE_KEY_DURATION=0, which
// is each client's first call after a restart, for every call) — and an empty grpc-js unary
// handler on the same protos as the baseline, all in one run. Usage: npm run bench:grpc
// (BENCH_SECONDS, BENCH_CONCURRENCY to change the defaults).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startProcess, startService } from "./proc.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const N_CLIENTS = 10_000;
const N_CHANNELS = 1_000;
const dir = mkdtempSync(join(tmpdir(), "mgc-bench-grpc-"));
const D = "bench";

interface Result {
  calls: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  codes: Record<string, number>;
}

async function load(address: string, service: "clients" | "channels", method: string, requests: unknown[], secs = seconds): Promise<Result> {
  const specFile = join(dir, `spec-${Math.random()}.json`);
  writeFileSync(specFile, JSON.stringify({ address, service, method, requests, concurrency, seconds: secs }));
  const p = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/grpc-load.ts"), specFile], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error("load generator failed");
  return JSON.parse(out.trim().split("\n").pop()!) as Result;
}

const basic = (id: string, secret: string) => "Basic" + Buffer.from(`${id}:${secret}`).toString("base64");

async function post(url: string, token: string, path: string, body: unknown) {
  const r = await fetch(url + path, { method: "POST", body: JSON.stringify(body), headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.status === 201 && path.endsWith("connect") ? undefined : ((await r.json()) as any);
}

try {
  // Baseline: empty handlers.
  const bare = await startProcess([process.execPath, join(ROOT, "scripts/bench/bare-grpc.ts")], {}, (l) => l.startsWith("ready "));
  const bareAddress = `localhost:${bare.line.split(" ")[1]}`;
  await load(bareAddress, "clients", "Authenticate", [{ token: "x" }], 2); // warm-up
  const baseAuthn = await load(bareAddress, "clients", "Authenticate", [{ token: basic("id", "secret") }]);
  const baseAuthz = await load(bareAddress, "channels", "Authorize", [{ domain_id: D, client_id: "c", client_type: "client", channel_id: "ch", type: 1 }]);
  bare.proc.kill();
  await bare.proc.exited;

  // Seed.
  const data = join(dir, "svc");
  let svc = await startService(data);
  const t0 = performance.now();
  const clients: { id: string; secret: string }[] = [];
  for (let i = 0; i < N_CLIENTS; i += 1000) {
    const batch = Array.from({ length: 1000 }, (_, k) => ({ name: `dev-${i + k}`, credentials: { secret: `bench-secret-${i + k}` } }));
    const r = await post(svc.url, svc.token, `/${D}/clients/bulk`, batch);
    for (const c of r.clients) clients.push({ id: c.id, secret: c.credentials.secret });
  }
  const channels: string[] = [];
  const r = await post(svc.url, svc.token, `/${D}/channels/bulk`, Array.from({ length: N_CHANNELS }, (_, k) => ({ name: `ch-${k}` })));
  for (const c of r.channels) channels.push(c.id);
  const tuples: { client: string; channel: string }[] = [];
  for (let gi = 0; gi < 100; gi++) {
    const chs = channels.slice(gi * 10, gi * 10 + 10);
    const cls = clients.slice(gi * 100, gi * 100 + 50).map((c) => c.id);
    await post(svc.url, svc.token, `/${D}/channels/connect`, { channel_ids: chs, client_ids: cls, types: ["publish"] });
    for (const ch of chs) for (const cl of cls) tuples.push({ client: cl, channel: ch });
  }
  console.log(`seeded ${clients.length} clients, ${channels.length} channels, ${tuples.length} connections in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const authnReqs = (n: number) => clients.slice(0, n).map((c) => ({ token: basic(c.id, c.secret) }));
  const authzReqs = (n: number) =>
    Array.from({ length: n }, (_, i) => tuples[(i * 7919) % tuples.length]!).map((t) => ({ domain_id: D, client_id: t.client, client_type: "client", channel_id: t.channel, type: 1 }));

  // Warm: 1,000 distinct answers, all cached by a warm-up pass first.
  await load(svc.grpcAddress, "clients", "Authenticate", authnReqs(1000), 2);
  const warmAuthn = await load(svc.grpcAddress, "clients", "Authenticate", authnReqs(1000));
  await load(svc.grpcAddress, "channels", "Authorize", authzReqs(1000), 2);
  const warmAuthz = await load(svc.grpcAddress, "channels", "Authorize", authzReqs(1000));
  svc.proc.kill("SIGTERM");
  await svc.proc.exited;

  // Cold: restarted with caching off, so every call is a first call.
  svc = await startService(data, { MG_CLIENTS_CACHE_KEY_DURATION: "0" });
  const coldAuthn = await load(svc.grpcAddress, "clients", "Authenticate", authnReqs(N_CLIENTS));
  const coldAuthz = await load(svc.grpcAddress, "channels", "Authorize", authzReqs(N_CLIENTS));
  svc.proc.kill("SIGTERM");
  await svc.proc.exited;

  const row = (name: string, r: Result, base?: Result, target?: number) => {
    const ratio = base ? (r.rps / base.rps) * 100 : undefined;
    const verdict = ratio === undefined || target === undefined ? "" : `≥ ${target} % ${ratio >= target ? "✓" : "✗"}`;
    return `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${ratio === undefined ? "—" : ratio.toFixed(1) + " %"} | ${verdict} |`;
  };
  console.log(`\ngRPC benchmark: ${seconds} s per case, ${concurrency} calls in flight on one channel, ${navigator.hardwareConcurrency} CPUs\n`);
  console.log("| case | calls/s | p50 ms | p99 ms | errors | ratio to baseline | target |");
  console.log("|---|---:|---:|---:|---:|---:|---|");
  console.log(row("empty handler, Authenticate-shaped (baseline)", baseAuthn));
  console.log(row("Authenticate, warm cache", warmAuthn, baseAuthn, 90));
  console.log(row("Authenticate, cold (cache off)", coldAuthn, baseAuthn, 50));
  console.log(row("empty handler, Authorize-shaped (baseline)", baseAuthz));
  console.log(row("Authorize, warm cache", warmAuthz, baseAuthz, 90));
  console.log(row("Authorize, cold (cache off)", coldAuthz, baseAuthz, 50));
  for (const [name, r] of Object.entries({ warmAuthn, coldAuthn, warmAuthz, coldAuthz })) if (r.errors > 0) console.log(`${name}: errors ${JSON.stringify(r.codes)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
