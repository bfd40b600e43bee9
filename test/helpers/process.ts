import { join } from "node:path";
import { type Subprocess, spawn } from "bun";

export const REPO = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

export interface ServiceProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  /** Everything the process wrote to stdout so far, one entry per line. */
  lines: string[];
  stderr(): Promise<string>;
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends the signal and waits for the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Runs the service as a separate process (`bun src/main.ts`, or a given command such as a compiled
 * binary) and waits until it logs that HTTP is listening.
 */
export async function spawnService(env: Record<string, string>, cmd: string[] = [BUN, join(REPO, "src/main.ts")]): Promise<ServiceProcess> {
  const proc = spawn({
    cmd,
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      MG_CLIENTS_HTTP_PORT: "0",
      MG_CLIENTS_GRPC_PORT: "0",
      MG_CLIENTS_HOOKS_PORT: "",
      MG_CLIENTS_ES_URL: "",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        for (const w of [...waiters])
          if (w.pred(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
      }
    }
  })();
  const waitForLine = (pred: (l: string) => boolean, timeoutMs = 15000) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line; got:\n${lines.join("\n")}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      proc.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`process exited (${proc.exitCode}) before the expected log line; stdout:\n${lines.join("\n")}`));
      });
    });
  const listening = await waitForLine((l) => l.includes('"http server listening"'));
  const url = JSON.parse(listening).url as string;
  return {
    proc,
    url,
    lines,
    stderr: () => new Response(proc.stderr).text(),
    waitForLine,
    async kill(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export async function run(cmd: string[], env: Record<string, string> = {}, cwd = REPO) {
  const proc = spawn({ cmd, cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
