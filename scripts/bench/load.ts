// Load generation for the benchmarks: wrk when installed (Debian package `wrk`), otherwise a
// keep-alive fetch loop in this process. Returns calls/s and latency percentiles in ms.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  tool: string;
}

export interface LoadSpec {
  url: string;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
}

const hasWrk = Bun.spawnSync(["sh", "-c", "command -v wrk"]).exitCode === 0;

export async function load(spec: LoadSpec): Promise<LoadResult> {
  return hasWrk ? wrk(spec) : fetchLoop(spec);
}

async function wrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "mgc-wrk-"));
  const script = join(dir, "req.lua");
  const lines = [`wrk.method = "${spec.method ?? "GET"}"`];
  if (spec.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(spec.body)}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  // Count non-2xx answers so a broken run cannot pass as a fast one.
  lines.push(
    "local bad = 0",
    "response = function(status, headers, body) if status >= 300 then bad = bad + 1 end end",
    "done = function(summary, latency, requests) io.write(string.format('BAD %d\\n', bad)) end",
  );
  writeFileSync(script, lines.join("\n"));
  const p = Bun.spawn(["wrk", "-t2", `-c${spec.connections}`, `-d${spec.seconds}s`, "--latency", "-s", script, spec.url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const unit = (v: string, u: string) => Number(v) * (u === "us" ? 0.001 : u === "s" ? 1000 : 1);
  const pct = (label: string) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? unit(m[1]!, m[2]!) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50: pct("50"), p99: pct("99"), errors, tool: "wrk" };
}

async function fetchLoop(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + spec.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = await fetch(spec.url, { method: spec.method ?? "GET", body: spec.body, headers: spec.headers });
        await r.arrayBuffer();
        if (r.status >= 300) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors, tool: "fetch" };
}

export function table(rows: { name: string; r: LoadResult; base?: LoadResult; target?: number }[]): string {
  const out = ["| case | calls/s | p50 ms | p99 ms | errors | ratio to baseline | target |", "|---|---:|---:|---:|---:|---:|---:|"];
  for (const { name, r, base, target } of rows) {
    const ratio = base ? `${((r.rps / base.rps) * 100).toFixed(1)} %` : "—";
    const t = target !== undefined ? `≥ ${target} %${base && (r.rps / base.rps) * 100 >= target ? " ✓" : base ? " ✗" : ""}` : "";
    out.push(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${ratio} | ${t} |`);
  }
  return out.join("\n");
}
