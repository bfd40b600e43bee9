// Reconnect storm (issue #16): 10,000 devices authenticate through the hooks listener at once
// (RabbitMQ's user check, 64 in flight), against a service that tracks presence (MG_CLIENTS_BROKER_KIND
// = rabbitmq: every authentication also opens a tentative session, written to the database in
// batches with a client.presence event each) and the same service with presence off, in the same
// run, on copies of the same data. Cold: the first storm after a start (every check reads the
// database); warm: the storms after it (cache hits), alternating, medians. Also: how long after the
// storm the database shows every device connected, and how many transactions that took.
//   flock /tmp/mgc-heavy.lock bun scripts/bench/presence.ts      (BENCH_DEVICES, BENCH_IN_FLIGHT, BENCH_ROUNDS)
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, ROOT, startProcess, startService } from "./proc.ts";

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const D = "5d1c7b7e-3f0a-4f43-9d7c-6c1f2a9b8e10";
const dir = mkdtempSync(join(tmpdir(), "mgc-bench-presence-"));

interface Storm {
  ms: number;
  rate: number;
  p50: number;
  p99: number;
  refused: number;
}

async function storm(hooksUrl: string, devices: { id: string; secret: string }[]): Promise<Storm> {
  const latencies: number[] = [];
  let next = 0;
  let refused = 0;
  const worker = async () => {
    for (let i = next++; i < devices.length; i = next++) {
      const d = devices[i]!;
      const body = new URLSearchParams({ username: d.id, password: d.secret, vhost: "/", client_id: `mqtt-${i}` }).toString();
      const t0 = performance.now();
      const r = await fetch(`${hooksUrl}/rabbitmq/user`, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
      if ((await r.text()) !== "allow") refused++;
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const ms = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { ms, rate: (devices.length / ms) * 1000, p50: at(0.5), p99: at(0.99), refused };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

async function start(mode: "on" | "off", dataDir: string) {
  const hooksPort = await freePort();
  const deadApi = await freePort(); // nothing listens: kicks would wait, polls fail (presence keeps its state)
  const { proc, line } = await startProcess(
    [process.execPath, join(ROOT, "scripts/bench/presence-service.ts"), mode],
    {
      MIMALLOC_PURGE_DELAY: "0",
      MG_CLIENTS_HTTP_PORT: String(await freePort()),
      MG_CLIENTS_GRPC_PORT: String(await freePort()),
      MG_CLIENTS_HOOKS_HOST: "127.0.0.1",
      MG_CLIENTS_HOOKS_PORT: String(hooksPort),
      MG_CLIENTS_DB_PATH: join(dataDir, "clients.db"),
      MG_CLIENTS_ES_URL: "",
      MG_CLIENTS_STANDALONE_TOKEN: "bench-token",
      MG_CLIENTS_BROKER_KIND: "rabbitmq",
      MG_CLIENTS_BROKER_API_URL: `http://bench:bench@127.0.0.1:${deadApi}`,
      MG_CLIENTS_BROKER_POLL_INTERVAL: "1h",
    },
    (l) => l.startsWith("ready "),
  );
  const [, hooksUrl, httpUrl] = line.split(" ");
  return { proc, hooksUrl: hooksUrl!, httpUrl: httpUrl! };
}

try {
  // Seed 10,000 clients once; each case runs on its own copy.
  const seedDir = join(dir, "seed");
  mkdirSync(seedDir);
  const seed = await startService(seedDir);
  const devices: { id: string; secret: string }[] = [];
  for (let i = 0; i < DEVICES; i += 1000) {
    const r = await fetch(`${seed.url}/${D}/clients/bulk`, {
      method: "POST",
      headers: { authorization: `Bearer ${seed.token}`, "content-type": "application/json" },
      body: JSON.stringify(Array.from({ length: Math.min(1000, DEVICES - i) }, (_, j) => ({ name: `dev-${i + j}` }))),
    });
    for (const c of ((await r.json()) as { clients: { id: string; credentials: { secret: string } }[] }).clients)
      devices.push({ id: c.id, secret: c.credentials.secret });
  }
  seed.proc.kill("SIGTERM");
  await seed.proc.exited;
  const copy = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    for (const f of ["clients.db", "installation.key"]) copyFileSync(join(seedDir, f), join(d, f));
    return d;
  };
  const on = await start("on", copy("on"));
  const off = await start("off", copy("off"));
  const results: Record<"on" | "off", { cold?: Storm; warm: Storm[] }> = { on: { warm: [] }, off: { warm: [] } };

  // The load generator's own warm-up, untimed, on both listeners.
  for (const s of [on, off]) await Promise.all(Array.from({ length: 2000 }, () => fetch(`${s.hooksUrl}/health`).then((r) => r.text())));
  const txBefore = await metric(on.httpUrl, "db_transactions_total");
  const outboxBefore = await metric(on.httpUrl, "events_outbox_depth");
  results.off.cold = await storm(off.hooksUrl, devices);
  const stormStart = performance.now();
  results.on.cold = await storm(on.hooksUrl, devices);
  // How long until the database lists every device as connected (the batch writer's lag).
  for (;;) {
    const r = await fetch(`${on.httpUrl}/${D}/clients?connected=true&only_total=true`, { headers: { authorization: "Bearer bench-token" } });
    if (((await r.json()) as { total: number }).total >= DEVICES) break;
    await Bun.sleep(10);
  }
  const storedMs = performance.now() - stormStart;
  const txAfter = await metric(on.httpUrl, "db_transactions_total");
  const outbox = (await metric(on.httpUrl, "events_outbox_depth")) - outboxBefore;
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const))
      results[mode].warm.push(await storm((mode === "on" ? on : off).hooksUrl, devices));
  }
  const rss = async (u: string) => ((await metric(u, "process_resident_memory_bytes")) / 2 ** 20).toFixed(0);
  const [rssOn, rssOff] = [await rss(on.httpUrl), await rss(off.httpUrl)];
  for (const s of [on, off]) s.proc.kill("SIGTERM");
  await Promise.all([on.proc.exited, off.proc.exited]);

  const row = (name: string, s: Storm, base?: Storm) =>
    `| ${name} | ${s.ms.toFixed(0)} | ${s.rate.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.refused} | ${base ? `${((s.rate / base.rate) * 100).toFixed(1)} %` : "—"} |`;
  const med = (xs: Storm[]): Storm => ({
    ms: median(xs.map((x) => x.ms)),
    rate: median(xs.map((x) => x.rate)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    refused: xs.reduce((a, x) => a + x.refused, 0),
  });
  console.log(`reconnect storm: ${DEVICES} devices, ${IN_FLIGHT} in flight, RabbitMQ user check; warm = median of ${ROUNDS}`);
  console.log("| case | storm ms | authentications/s | p50 ms | p99 ms | refused | vs presence off |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  console.log(row("cold, presence off", results.off.cold));
  console.log(row("cold, presence on", results.on.cold, results.off.cold));
  console.log(row("warm, presence off", med(results.off.warm)));
  console.log(row("warm, presence on", med(results.on.warm), med(results.off.warm)));
  console.log(
    `presence on: all ${DEVICES} stored as connected ${storedMs.toFixed(0)} ms after the storm began, in ${txAfter - txBefore} transactions; ` +
      `${outbox} client.presence events written to the outbox; RSS ${rssOn} MiB (presence off: ${rssOff} MiB)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
