import { AppError, Msg } from "../errors/index.ts";
import type { Logger } from "../log/logger.ts";

/**
 * A write refused because the disk (or the database) has no room: SQLite's SQLITE_FULL (a short
 * write, ENOSPC) and Postgres's class 53 `disk_full` (53100, "could not extend file"). The request
 * could not be served now and can be retried once there is room again: the transports answer 503
 * `storage full`, and nothing needs restarting (the next write that fits succeeds).
 */
export function isStorageFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; errno?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = e.code;
    if (code === "SQLITE_FULL" || code === "53100" || code === "ENOSPC") return true;
  }
  return false;
}

/** How often a full disk is logged (once per interval, with how many writes it refused meanwhile). */
const LOG_EVERY_MS = 60_000;

/**
 * Turns storage-full failures of `transact` into the 503 error, logging one line per minute
 * however many writes fail; other failures pass through unchanged.
 */
export function storageFullGuard(logger: Logger, every = LOG_EVERY_MS): (err: unknown) => never {
  let lastLog = Number.NEGATIVE_INFINITY;
  let refused = 0;
  return (err) => {
    if (!isStorageFull(err)) throw err;
    refused++;
    const now = performance.now();
    if (now - lastLog >= every) {
      lastLog = now;
      logger.error("storage full: writes are refused (503) until there is room again", { refused, code: (err as { code?: unknown }).code });
      refused = 0;
    }
    throw new AppError("STORAGE_FULL", Msg.storageFull);
  };
}
