// Scale benchmark (DESIGN.md "Performance targets"): 100,000 clients and 200,000 connections in one
// domain, then list pages (default order, a name filter, a tag filter, a deep offset, clients of a
// channel) measured one request at a time, and the process's resident memory from /metrics.
// Targets: list page p99 < 20 ms; RSS < 160 MiB. Usage: npm run bench:list [-- --postgres]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchDatabase, freshDatabase, onPostgres } from "./db.ts";
import { startService } from "./proc.ts";

const N_CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100_000);
const N_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 200_000);
const N_CHANNELS = 1000;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const dir = mkdtempSync(join(tmpdir(), "mgc-bench-list-"));
const D = "scale";

let pg: BenchDatabase | undefined;
try {
  pg = onPostgres ? await freshDatabase("list") : undefined;
  const svc = await startService(dir, pg?.env);
  const headers = { authorization: `Bearer ${svc.token}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown) => {
    const r = await fetch(svc.url + path, { method: "POST", body: JSON.stringify(body), headers });
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.status === 201 ? undefined : ((await r.json()) as any);
  };
  const t0 = performance.now();
  const clientIds: string[] = [];
  for (let i = 0; i < N_CLIENTS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, N_CLIENTS - i) }, (_, k) => ({
      name: `device-${i + k}`,
      tags: [`rack-${(i + k) % 50}`],
      metadata: { floor: (i + k) % 10 },
    }));
    for (const c of (await post(`/${D}/clients/bulk`, batch)).clients) clientIds.push(c.id);
  }
  const channelIds: string[] = (
    await post(
      `/${D}/channels/bulk`,
      Array.from({ length: N_CHANNELS }, (_, k) => ({ name: `ch-${k}` })),
    )
  ).channels.map((c: any) => c.id);
  // 200 clients per channel, 1,000 per request.
  const perChannel = N_CONNECTIONS / N_CHANNELS;
  for (let c = 0; c < N_CHANNELS; c += 5) {
    const start = ((c * perChannel) / 1) % N_CLIENTS;
    await post(`/${D}/channels/connect`, {
      channel_ids: channelIds.slice(c, c + 5),
      client_ids: clientIds.slice(start, start + perChannel),
      types: ["publish"],
    });
  }
  // The service refreshes the planner's statistics on Postgres within 5 s of a burst of writes
  // (src/db/postgres.ts); measure the steady state, not the seconds right after the load.
  if (pg) await Bun.sleep(6000);
  console.log(
    `seeded ${clientIds.length} clients, ${channelIds.length} channels, ${N_CONNECTIONS} connections in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const cases: [string, string][] = [
    ["default page (enabled, updated_at desc, limit 10)", `/${D}/clients`],
    ["the total alone (only_total)", `/${D}/clients?only_total=true`],
    ["limit 100", `/${D}/clients?limit=100`],
    ["name substring", `/${D}/clients?name=device-4242`],
    ["tag filter", `/${D}/clients?tags=rack-7`],
    ["metadata containment", `/${D}/clients?metadata=${encodeURIComponent('{"floor":3}')}`],
    ["offset 50,000, order by name", `/${D}/clients?offset=50000&order=name&dir=asc`],
    ["clients of a channel (connection_types)", `/${D}/clients?channel=${channelIds[500]}`],
    ["channels of a client", `/${D}/channels?client=${clientIds[100]}`],
  ];
  console.log(`\nlist pages on ${pg ? "Postgres" : "SQLite"}, ${SAMPLES} sequential requests each (${navigator.hardwareConcurrency} CPUs)\n`);
  console.log("| list | p50 ms | p99 ms | total | target p99 < 20 ms |");
  console.log("|---|---:|---:|---:|---|");
  for (const [name, path] of cases) {
    for (let i = 0; i < 5; i++) await (await fetch(svc.url + path, { headers })).arrayBuffer(); // warm-up, not measured
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const s = performance.now();
      const r = await fetch(svc.url + path, { headers });
      const body = (await r.json()) as { total: number };
      times.push(performance.now() - s);
      total = body.total;
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    console.log(`| ${name} | ${p(0.5).toFixed(2)} | ${p(0.99).toFixed(2)} | ${total} | ${p(0.99) < 20 ? "✓" : "✗"} |`);
  }
  const metrics = await (await fetch(`${svc.url}/metrics`)).text();
  const rss = Number(/process_resident_memory_bytes (\d+)/.exec(metrics)?.[1]);
  const heap = Number(/process_heap_bytes (\d+)/.exec(metrics)?.[1]);
  console.log(`JavaScript heap in use: ${(heap / 2 ** 20).toFixed(1)} MiB`);
  console.log(`\nprocess RSS after the run: ${(rss / 2 ** 20).toFixed(1)} MiB (target < 160 MiB ${rss < 160 * 2 ** 20 ? "✓" : "✗"})`);
  svc.proc.kill("SIGTERM");
  await svc.proc.exited;
} finally {
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();
}
