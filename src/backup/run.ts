import { statSync } from "node:fs";
import type { Progress, ProgressStep } from "../progress/progress.ts";
import type { BackupOptions, BackupResult } from "./backup.ts";
import { BackupError, type StageInfo } from "./format.ts";
import type { RestoreOptions, RestoreResult } from "./restore.ts";
import type { Job, Report } from "./worker.ts";

/** How often the size of the file a stage writes is looked at. */
const POLL_MS = 250;

export const backupWithProgress = (opts: BackupOptions, progress: Progress) => inWorker<BackupResult>({ kind: "backup", opts }, progress);
export const restoreWithProgress = (opts: RestoreOptions, progress: Progress) => inWorker<RestoreResult>({ kind: "restore", opts }, progress);

/**
 * Runs the job in a worker (./worker.ts) and shows its stages: a stage that writes a file advances
 * with the file's size, the others with their elapsed time. A BackupError from the worker is
 * rethrown as one, so the command line words it as before.
 */
function inWorker<T>(job: Job, progress: Progress): Promise<T> {
  const worker = new Worker(new URL("./worker.ts", import.meta.url));
  let current: { info: StageInfo; step: ProgressStep } | undefined;
  const poll = () => {
    if (!current) return;
    let size = 0;
    try {
      if (current.info.file) size = statSync(current.info.file).size;
    } catch {
      // not created yet
    }
    current.step.update(size);
  };
  const endStage = () => {
    if (!current) return;
    poll();
    current.step.end();
    current = undefined;
  };
  const timer = setInterval(poll, POLL_MS);
  return new Promise<T>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<Report>) => {
      const r = event.data;
      if (r.kind === "stage") {
        endStage();
        current = { info: r.stage, step: progress.step(r.stage.label, r.stage.total, "bytes") };
      } else if (r.kind === "done") {
        endStage();
        resolve(r.result as T);
      } else {
        reject(r.name === "BackupError" ? new BackupError(r.message) : new Error(r.message));
      }
    };
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage(job);
  }).finally(() => {
    clearInterval(timer);
    worker.terminate();
  });
}
