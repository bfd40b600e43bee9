import { closeSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Temporary files of backup, restore, export and import (some hold the installation key in the
 * clear): created 0600 and exclusively, removed when the command ends — on SIGINT, SIGTERM and
 * SIGHUP too — and, when a run was killed outright (SIGKILL, power loss), removed by the next run
 * that looks in the same folder. Every name is `.<file>.tmp-<pid>` beside its target, so a run can
 * tell a dead run's leftovers (pid gone) from a live one's.
 */

const TEMP = /^\..+\.tmp-(\d+)(?:-journal|-wal|-shm)?$/;
/** A leftover younger than this may belong to a run in another pid namespace (a container): kept. */
const STALE_AFTER_MS = 60_000;

const live = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const EXIT_CODE: Record<(typeof SIGNALS)[number], number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
const onSignal = Object.fromEntries(
  SIGNALS.map((sig) => [
    sig,
    () => {
      removeLive();
      process.exit(EXIT_CODE[sig]);
    },
  ]),
) as unknown as Record<(typeof SIGNALS)[number], () => void>;

function removeLive(): void {
  for (const path of live) removeWithSidecars(path);
  live.clear();
}

const removeWithSidecars = (path: string) => {
  for (const s of ["", "-journal", "-wal", "-shm"]) rmSync(path + s, { force: true });
};

/** Handlers are in place only while a temporary file exists: a listener would keep the process alive. */
function track(path: string): void {
  if (live.size === 0) {
    process.on("exit", removeLive);
    for (const sig of SIGNALS) process.on(sig, onSignal[sig]);
  }
  live.add(path);
}

function untrack(path: string): void {
  if (!live.delete(path) || live.size > 0) return;
  process.off("exit", removeLive);
  for (const sig of SIGNALS) process.off(sig, onSignal[sig]);
}

/** The temporary path for `target` (beside it), created empty with mode 0600 and registered for removal. */
export function createTempFile(target: string): string {
  const path = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  removeWithSidecars(path);
  track(path);
  closeSync(openSync(path, "wx", 0o600));
  return path;
}

/** The temporary file was renamed into place or removed: nothing left to clean up. */
export function releaseTempFile(path: string): void {
  removeWithSidecars(path);
  untrack(path);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Removes the temporary files that dead runs left in `dir`; returns their names. Never throws. */
export function removeStaleTempFiles(dir: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs < STALE_AFTER_MS) continue;
      rmSync(path, { force: true });
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}
