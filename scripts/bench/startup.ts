// Start-up time of a compiled binary: from spawn to the first 200 of GET /health, on an empty
// database (a fresh data directory each run). Usage:
//   bun scripts/bench/startup.ts [dist/magistrala-clients-linux-x64] [runs=10]
// Prints each run and the median. Traffic stays on 127.0.0.1. The hooks listener is on, as users
// run it, on a free port; STARTUP_NO_HOOKS=1 measures without it.
// --postgres (or BENCH_DB=postgres): each run on a fresh, empty Postgres database (scripts/bench/db.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freshDatabase, onPostgres } from "./db.ts";

const args = process.argv.slice(2).filter((a) => a !== "--postgres");
const binary = resolve(args[0] ?? "dist/magistrala-clients-linux-x64");
const runs = Number(args[1] ?? 10);

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}

async function once(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "mgc-startup-"));
  const pg = onPostgres ? await freshDatabase("startup") : undefined;
  const port = await freePort();
  const hooksPort = await freePort();
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
      // The hooks listener on (as users run it), on a free port: its default 9001 may be taken.
      MG_CLIENTS_HOOKS_PORT: process.env.STARTUP_NO_HOOKS ? "" : String(hooksPort),
      MG_CLIENTS_ES_URL: "",
      MG_CLIENTS_LOG_LEVEL: "warn",
      ...pg?.env,
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
    await pg?.drop();
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
console.log(
  `${binary}: start to first /health 200, empty ${onPostgres ? "Postgres" : "SQLite"} database, ${runs} runs: median ${median.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)})`,
);
