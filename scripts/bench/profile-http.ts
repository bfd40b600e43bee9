// CPU profile of the HTTP hot path (issue #14): the service from source under Bun's sampling
// profiler (`bun --cpu-prof`), wrk on GET one client or POST create for BENCH_SECONDS, then the
// samples summed per function — self and inclusive (a function counted once per sample whose stack
// holds it) — in % of all samples and µs per request. The .cpuprofile stays for Chrome DevTools.
//   flock /tmp/mgc-heavy.lock bun scripts/bench/profile-http.ts get|post [out-dir]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load, requireWrk } from "./load.ts";
import { startService } from "./proc.ts";

requireWrk();
const which = process.argv[2] === "post" ? "post" : "get";
const outDir = process.argv[3] ?? mkdtempSync(join(tmpdir(), "mgc-prof-"));
mkdirSync(outDir, { recursive: true });
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const data = mkdtempSync(join(tmpdir(), "mgc-prof-data-"));
process.env.BENCH_BUN_FLAGS = `--cpu-prof --cpu-prof-dir=${outDir} --cpu-prof-interval=${process.env.BENCH_PROF_INTERVAL ?? 200}`;
const svc = await startService(data);
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
      };
const r = await load(spec);
svc.proc.kill("SIGTERM");
await svc.proc.exited;
const file = readdirSync(outDir).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error(`no profile in ${outDir}`);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const prof = JSON.parse(readFileSync(join(outDir, file), "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const parent = new Map<number, number>();
const byId = new Map<number, Node>();
for (const n of prof.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}
const key = (n: Node) => {
  const f = n.callFrame;
  const url = f.url.replace(/^.*\/node_modules\//, "~/").replace(/^.*\/(src|scripts)\//, "$1/");
  return `${f.functionName || "(anonymous)"} ${url ? `${url}:${f.lineNumber + 1}` : ""}`.trim();
};
const self = new Map<string, number>();
const incl = new Map<string, number>();
for (const s of prof.samples) {
  const leaf = byId.get(s)!;
  self.set(key(leaf), (self.get(key(leaf)) ?? 0) + 1);
  const seen = new Set<string>();
  for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
    const k = key(byId.get(id)!);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + 1);
  }
}
const total = prof.samples.length;
const requests = r.rps * seconds;
const usPer = (n: number) => ((n / total) * ((r.cpu?.server ?? 100) / 100) * seconds * 1e6) / requests; // CPU µs per request
console.log(
  `${which.toUpperCase()}: ${r.rps.toFixed(0)} calls/s under the profiler, server CPU ${r.cpu?.server?.toFixed(0)} %, ${total} samples; ${join(outDir, file)}`,
);
const top = (m: Map<string, number>, label: string, n: number) => {
  console.log(`\n| ${label} | % of samples | CPU µs/request |\n|---|---:|---:|`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`| ${k} | ${((v / total) * 100).toFixed(1)} | ${usPer(v).toFixed(1)} |`);
};
top(incl, "inclusive", Number(process.env.BENCH_PROF_TOP ?? 60));
top(self, "self", 30);
