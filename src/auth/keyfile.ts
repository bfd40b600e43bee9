import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Reads a secret file, or creates it (mode 0600, written atomically) with `generate()`'s value.
 * Returns the value and whether it was just created.
 */
export function readOrCreateSecretFile(path: string, generate: () => string): { value: string; created: boolean } {
  if (existsSync(path)) {
    const value = readFileSync(path, "utf8").trim();
    if (value === "") throw new Error(`${path} is empty; remove it to have a new one generated`);
    return { value, created: false };
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const value = generate();
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, value + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return { value, created: true };
}
