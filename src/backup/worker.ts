/**
 * Runs one backup or restore off the main thread (src/backup/run.ts starts it): both are a few
 * long, blocking SQLite calls, and the command line shows their progress meanwhile. Each stage is
 * announced before it blocks; the result or the failure (its name and message) ends the job.
 * Listed as an entry point of the compiled binary (scripts/build.ts), as Bun requires of workers.
 */
import { type BackupOptions, createBackup } from "./backup.ts";
import type { StageInfo } from "./format.ts";
import { type RestoreOptions, restoreBackup } from "./restore.ts";

export type Job = { kind: "backup"; opts: BackupOptions } | { kind: "restore"; opts: RestoreOptions };
export type Report = { kind: "stage"; stage: StageInfo } | { kind: "done"; result: unknown } | { kind: "failed"; name: string; message: string };

declare const self: Worker;

self.onmessage = (event: MessageEvent<Job>) => {
  const job = event.data;
  const report = (r: Report) => self.postMessage(r);
  const stage = (s: StageInfo) => report({ kind: "stage", stage: s });
  try {
    const result = job.kind === "backup" ? createBackup(job.opts, stage) : restoreBackup(job.opts, stage);
    report({ kind: "done", result });
  } catch (err) {
    const e = err as Error;
    report({ kind: "failed", name: e?.name ?? "Error", message: e?.message ?? String(err) });
  }
};
