import { join } from "node:path";
import { type Subprocess, spawn } from "bun";

export const ROOT = join(import.meta.dir, "..", "..");

/** Spawns a process and resolves once a stdout line satisfies `ready`; stdout after that is discarded. */
export async function startProcess(cmd: string[], env: Record<string, string>, ready: (line: string) => boolean): Promise<{ proc: Subprocess; line: string }> {
  const proc = spawn({ cmd, cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${cmd.join(" ")} exited before it was ready`);
    buf += decoder.decode(value, { stream: true });
    const lines = buf.split("\n");
    buf = lines.pop()!;
    const hit = lines.find(ready);
    if (hit) {
      // keep draining so the process never blocks on a full pipe
      (async () => {
        while (!(await reader.read()).done);
      })();
      return { proc, line: hit };
    }
  }
}

/** Starts the service from source on a free port with the given data directory; ready when /health answers. */
export async function startService(dataDir: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const grpcPort = await freePort();
  const proc = spawn({
    cmd: [process.execPath, ...(process.env.BENCH_BUN_FLAGS ?? "").split(" ").filter(Boolean), join(ROOT, "src/main.ts")],
    cwd: ROOT,
    env: {
      // as deployed (README "Memory"): the allocator returns freed memory at once
      MIMALLOC_PURGE_DELAY: "0",
      ...process.env,
      MG_CLIENTS_HTTP_PORT: String(port),
      MG_CLIENTS_GRPC_PORT: String(grpcPort),
      MG_CLIENTS_DB_PATH: join(dataDir, "clients.db"),
      MG_CLIENTS_ES_URL: "",
      MG_CLIENTS_STANDALONE_TOKEN: "bench-token",
      // No hooks listener unless a benchmark asks for one (its default port would collide).
      MG_CLIENTS_HOOKS_PORT: "",
      ...env,
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://localhost:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      if (i > 300 || proc.exitCode !== null) throw new Error("the service did not start");
      await Bun.sleep(20);
    }
  }
  return { proc, url, grpcAddress: `localhost:${grpcPort}`, token: "bench-token" };
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}
