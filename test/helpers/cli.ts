import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, REPO, run } from "./process.ts";

export const MAIN = join(REPO, "src/main.ts");

/** Runs the command line from source (`bun src/main.ts …`) with only the given environment. */
export function cli(args: string[], env: Record<string, string> = {}) {
  return run([BUN, MAIN, ...args], { MG_CLIENTS_ES_URL: "", ...env });
}

/** What an operator must see on failure: exactly one line on stderr, nothing on stdout, no stack trace. */
export function expectOneLineError(r: { stdout: string; stderr: string }): string {
  const lines = r.stderr.trimEnd().split("\n");
  if (lines.length !== 1 || r.stdout !== "" || /^\s+at /m.test(r.stderr) || r.stderr.trim() === "")
    throw new Error(`expected one error line on stderr and nothing on stdout, got:\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return lines[0]!;
}

/**
 * The SHA-256 of every file of a directory (the `.lock` file aside: taking the lock writes its
 * owner's pid there), to prove that a refused operation changed nothing.
 */
export function fingerprintDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith(".lock")) continue;
    out[name] = createHash("sha256")
      .update(readFileSync(join(dir, name)))
      .digest("hex");
  }
  return out;
}
