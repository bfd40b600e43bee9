import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Reads a secret file, or creates it (mode 0600, written atomically) with `generate()`'s value.
 * Returns the value and whether it was just created. Instances that start together on one data
 * directory (several services on one Postgres, a shared volume) all end up with the same value:
 * the file appears with link(2), which fails when another process created it first, and then
 * that one's value is read.
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
  writeFileSync(tmp, `${value}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return readOrCreateSecretFile(path, generate);
    // A filesystem without hard links: exclusive creation still lets only one process win.
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
    try {
      writeFileSync(path, `${value}\n`, { mode: 0o600, flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return readOrCreateSecretFile(path, generate);
      throw e;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  return { value, created: true };
}
