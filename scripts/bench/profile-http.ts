// CPU profile of the HTTP hot path (issue #14): the service from source under Bun's sampling
// profiler (`bun --cpu-prof`), wrk on GET one client or POST create for BENCH_SECONDS, then the
// samples summed per function — self and inclusive (a function counted once per sample whose stack
// holds it) — in % of all samples and µs per request. The .cpuprofile stays for Chrome DevTools.
//   flock /tmp/mgc-heavy.lock bun scripts/bench/profile-http.ts get|post [out-dir] [--postgres]
// With --postgres (or BENCH_DB=postgres) the service runs on a fresh database of the local Postgres.
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarize } from "./cpuprofile.ts";
import { freshDatabase, onPostgres } from "./db.ts";
import { load, requireWrk } from "./load.ts";
import { startService } from "./proc.ts";

requireWrk();
const which = process.argv[2] === "post" ? "post" : "get";
const outDir = process.argv.slice(3).find((a) => !a.startsWith("--")) ?? mkdtempSync(join(tmpdir(), "mgc-prof-"));
mkdirSync(outDir, { recursive: true });
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const data = mkdtempSync(join(tmpdir(), "mgc-prof-data-"));
process.env.BENCH_BUN_FLAGS = `--cpu-prof --cpu-prof-dir=${outDir} --cpu-prof-interval=${process.env.BENCH_PROF_INTERVAL ?? 200}`;
const pg = onPostgres ? await freshDatabase("prof") : undefined;
const svc = await startService(data, pg?.env);
const auth = { authorization: `Bearer ${svc.token}` };
const JSON_HEADERS = { "content-type": "application/json" };
const created = (await (
  await fetch(`${svc.url}/d/clients`, { method: "POST", body: JSON.stringify({ name: "bench" }), headers: { ...auth, ...JSON_HEADERS } })
).json()) as { id: string };
const spec =
  which === "get"
    ? { url: `${svc.url}/d/clients/${created.id}`, headers: auth, connections: 64, seconds, serverPid: svc.proc.pid }
    : {
        url: `${svc.url}/d/clients`,
        method: "POST" as const,
        body: "{}",
        headers: { ...auth, ...JSON_HEADERS },
        connections: 64,
        seconds,
        serverPid: svc.proc.pid,
        postgres: onPostgres,
      };
const r = await load(spec);
svc.proc.kill("SIGTERM");
await svc.proc.exited;
await pg?.drop();
const file = readdirSync(outDir).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error(`no profile in ${outDir}`);

console.log(
  `${which.toUpperCase()}: ${r.rps.toFixed(0)} calls/s under the profiler, server CPU ${r.cpu?.server?.toFixed(0)} %${r.cpu?.database === undefined ? "" : `, Postgres CPU ${r.cpu.database.toFixed(0)} %`}`,
);
summarize(join(outDir, file), { calls: r.rps * seconds, seconds, serverCpu: r.cpu?.server ?? 100 });
