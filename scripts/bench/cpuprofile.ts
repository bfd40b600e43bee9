// Reads a `.cpuprofile` of Bun's sampling profiler (`bun --cpu-prof`) and prints the samples summed
// per function — self and inclusive (a function counted once per sample whose stack holds it) — in %
// of all samples and CPU µs per request (scripts/bench/profile-http.ts, profile-grpc.ts).
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** `calls` handled in `seconds` with the server at `serverCpu` % of one core. */
export function summarize(file: string, run: { calls: number; seconds: number; serverCpu: number }): void {
  const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
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
  const usPer = (n: number) => ((n / total) * (run.serverCpu / 100) * run.seconds * 1e6) / run.calls; // CPU µs per request
  console.log(`${total} samples; ${file}`);
  const top = (m: Map<string, number>, label: string, n: number) => {
    console.log(`\n| ${label} | % of samples | CPU µs/request |\n|---|---:|---:|`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`| ${k} | ${((v / total) * 100).toFixed(1)} | ${usPer(v).toFixed(1)} |`);
  };
  top(incl, "inclusive", Number(process.env.BENCH_PROF_TOP ?? 60));
  top(self, "self", 30);
}
