// Load generation for the HTTP benchmarks: wrk (Debian package `wrk`), nothing else. A load loop
// in a Bun process on the same cores saturates before the servers do and makes every server look
// alike (issue #14), so without wrk the benchmarks stop with how to install it. Each run also
// reports the CPU the generator and the measured server used (scripts/bench/cpu.ts), so a reader
// can see which of the two was the limit.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CpuShare, cpuOfChild, cpuTicks, postgresTicks, requireTool, shareOf, TICK_HZ } from "./cpu.ts";

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  tool: string;
  cpu?: CpuShare;
}

export interface LoadSpec {
  url: string;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  /** The measured server's pid, for its CPU share during the run. */
  serverPid?: number;
  /** Also the CPU of the local Postgres' processes during the run. */
  postgres?: boolean;
}

/** wrk threads: one, so the generator takes at most one of the machine's cores. */
const THREADS = Number(process.env.BENCH_WRK_THREADS ?? 1);
export const LOAD_TOOL = `wrk -t${THREADS}`;

export function requireWrk(): void {
  requireTool("wrk", "apt-get install -y wrk");
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  requireWrk();
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
  const server0 = spec.serverPid ? cpuTicks(spec.serverPid) : 0;
  const db0 = spec.postgres ? postgresTicks() : 0;
  const t0 = performance.now();
  const { out, ticks } = await cpuOfChild(["wrk", `-t${THREADS}`, `-c${spec.connections}`, `-d${spec.seconds}s`, "--latency", "-s", script, spec.url]);
  const wall = (performance.now() - t0) / 1000;
  const cpu: CpuShare = spec.serverPid ? shareOf(ticks, cpuTicks(spec.serverPid) - server0, wall) : { generator: (ticks / TICK_HZ / wall) * 100 };
  if (spec.postgres) cpu.database = ((postgresTicks() - db0) / TICK_HZ / wall) * 100;
  const unit = (v: string, u: string) => Number(v) * (u === "us" ? 0.001 : u === "s" ? 1000 : 1);
  const pct = (label: string) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? unit(m[1]!, m[2]!) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk gave no figure:\n${out}`);
  return { rps, p50: pct("50"), p99: pct("99"), errors, tool: LOAD_TOOL, cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The median figures of several rounds of one case (errors summed). */
export function merged(rs: LoadResult[]): LoadResult {
  const cpus = rs.flatMap((x) => (x.cpu ? [x.cpu] : []));
  return {
    rps: median(rs.map((x) => x.rps)),
    p50: median(rs.map((x) => x.p50)),
    p99: median(rs.map((x) => x.p99)),
    errors: rs.reduce((n, x) => n + x.errors, 0),
    tool: rs[0]!.tool,
    cpu:
      cpus.length > 0
        ? {
            generator: median(cpus.map((c) => c.generator)),
            server: cpus[0]!.server === undefined ? undefined : median(cpus.map((c) => c.server ?? 0)),
            database: cpus[0]!.database === undefined ? undefined : median(cpus.map((c) => c.database ?? 0)),
          }
        : undefined,
  };
}

const pc = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(0)} %`);

export function table(rows: { name: string; r: LoadResult; base?: LoadResult; target?: number }[]): string {
  const out = [
    "| case | calls/s | p50 ms | p99 ms | errors | ratio to baseline | target | CPU: generator / server (% of one core) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const { name, r, base, target } of rows) {
    const ratio = base ? `${((r.rps / base.rps) * 100).toFixed(1)} %` : "—";
    const t = target !== undefined ? `≥ ${target} %${base && (r.rps / base.rps) * 100 >= target ? " ✓" : base ? " ✗" : ""}` : "";
    out.push(
      `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${ratio} | ${t} | ${pc(r.cpu?.generator)} / ${pc(r.cpu?.server)}${r.cpu?.database === undefined ? "" : ` / ${pc(r.cpu.database)}`} |`,
    );
  }
  return out.join("\n");
}
