// Start-up time of a compiled binary: from spawn to the first 200 of GET /health, on an empty
// database (a fresh data directory each run). Usage:
//   bun scripts/bench/startup.ts [dist/magistrala-clients-linux-x64] [runs=10]
// Prints each run and the median. Traffic stays on 127.0.0.1.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const binary = resolve(process.argv[2] ?? "dist/magistrala-clients-linux-x64");
const runs = Number(process.argv[3] ?? 10);

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

async function once(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "mgc-startup-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/health`;
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "serve"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      MG_CLIENTS_DB_PATH: join(dir, "data", "clients.db"),
      MG_CLIENTS_HTTP_HOST: "127.0.0.1",
      MG_CLIENTS_HTTP_PORT: String(port),
      MG_CLIENTS_GRPC_PORT: "0",
      MG_CLIENTS_ES_URL: "",
      MG_CLIENTS_LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${binary} exited with ${proc.exitCode}`);
      if (performance.now() - t0 > 10_000) throw new Error("no /health 200 within 10 s");
      try {
        const r = await fetch(url);
        if (r.status === 200) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await Bun.sleep(1);
    }
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const ms = await once();
  times.push(ms);
  console.log(`run ${i + 1}: ${ms.toFixed(1)} ms`);
}
times.sort((a, b) => a - b);
const mid = Math.floor(times.length / 2);
const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
console.log(`${binary}: start to first /health 200, empty database, ${runs} runs: median ${median.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)})`);
