import type { Database as SqliteConnection } from "bun:sqlite";
import type { Logger } from "../../log/logger.ts";
import type { PrewarmJob, PrewarmReport } from "./prewarm-worker.ts";

/**
 * The B-trees a client's first gRPC call reads: Authenticate (Basic) finds the client by its id
 * (the primary-key index, then its row for the domain, the secret hash and the status); Authorize
 * finds the connection by its primary key (a covering index) and both entities' status by theirs
 * (src/clients/repository.ts authRecord, src/connections/repository.ts clientMay). At a million
 * clients they are about 13 % of the file.
 */
export const AUTH_PATH_BTREES = ["sqlite_autoindex_clients_1", "clients", "sqlite_autoindex_connections_1", "sqlite_autoindex_channels_1", "channels"] as const;

/**
 * How often the pages are read again. Some kernels page out file pages nobody read for a while
 * whatever memory is free (this project's VMs: DAMON, after about a minute); a read every 30 s
 * keeps them. A pass over pages already in memory is a copy from the page cache.
 */
const PREWARM_EVERY_MS = 30_000;
/** The first pass waits this long, so that the service's own start (to its first /health) has the machine. */
const START_DELAY_MS = 1000;

interface PrewarmPass {
  /** Pages of the B-trees found and read (without overflow pages). */
  pages: number;
  /** Bytes read, the gaps between nearby pages included. */
  bytes: number;
  ms: number;
}

export interface Prewarm {
  /** The first pass's outcome (undefined when it was stopped or failed). */
  readonly first: Promise<PrewarmPass | undefined>;
  /** Completed passes so far. */
  readonly passes: number;
  /** Stops the passes; resolves once the worker has closed the file and ended. */
  stop(): Promise<void>;
}

export interface PrewarmOptions {
  path: string;
  /** Reads the schema (root pages) and the page size; any connection to the file. */
  connection: SqliteConnection;
  logger: Logger;
  btrees?: readonly string[];
  everyMs?: number;
  /** How long after the start the first pass begins. */
  delayMs?: number;
}

/**
 * Keeps the pages of the auth path's B-trees in the operating system's page cache, like
 * PostgreSQL's pg_prewarm: a client's first call after a restart then costs no disk read. A
 * worker (./prewarm-worker.ts) reads the file directly, not through SQLite: from each B-tree's
 * root, level by level, each level's pages in file order, the interior pages parsed for their
 * children and the leaves only read, at most 128 MiB/s, starting a second after the service; then
 * again every `everyMs`. The event loop does nothing for it; the memory is the page cache's, not
 * the process's (the worker adds ~11 MiB of RSS).
 *
 * Pages written since the last checkpoint are read as the file has them (the WAL's newer copies
 * are not looked at): a split since then may leave a few new pages out until the checkpoint.
 */
export function startPrewarm(opts: PrewarmOptions): Prewarm {
  const btrees = opts.btrees ?? AUTH_PATH_BTREES;
  const ask = <T>(sqlText: string, ...params: string[]): T[] => {
    const stmt = opts.connection.prepare(sqlText);
    try {
      return stmt.all(...params) as T[];
    } finally {
      stmt.finalize();
    }
  };
  const pageSize = ask<{ page_size: number }>("PRAGMA page_size")[0]!.page_size;
  const rows = ask<{ name: string; rootpage: number }>(
    `SELECT name, rootpage FROM sqlite_schema WHERE name IN (${btrees.map(() => "?").join(", ")})`,
    ...btrees,
  );
  const stop = new Int32Array(new SharedArrayBuffer(4));
  let passes = 0;
  let firstPass: (p: PrewarmPass | undefined) => void = () => undefined;
  const first = new Promise<PrewarmPass | undefined>((resolve) => {
    firstPass = resolve;
  });
  let ended: () => void = () => undefined;
  const end = new Promise<void>((resolve) => {
    ended = resolve;
  });
  let worker: Worker | undefined;
  const finish = () => {
    firstPass(undefined);
    worker?.terminate();
    worker = undefined;
    ended();
  };
  const spawn = () => {
    try {
      worker = new Worker(new URL("./prewarm-worker.ts", import.meta.url));
      worker.unref();
      worker.onmessage = (event: MessageEvent<PrewarmReport>) => {
        const r = event.data;
        if (r.kind === "pass") {
          passes++;
          if (passes === 1)
            opts.logger.info("page cache prewarmed", { btrees: rows.length, pages: r.pages, mib: Math.round(r.bytes / 2 ** 20), ms: Math.round(r.ms) });
          firstPass({ pages: r.pages, bytes: r.bytes, ms: r.ms });
        } else if (r.kind === "failed") {
          opts.logger.warn("page cache prewarm failed", { error: r.message });
        } else finish();
      };
      worker.onerror = (event) => {
        opts.logger.warn("page cache prewarm failed", { error: event.message });
        finish();
      };
      const job: PrewarmJob = {
        path: opts.path,
        pageSize,
        roots: rows.map((r) => r.rootpage).filter((p) => p > 0),
        everyMs: opts.everyMs ?? PREWARM_EVERY_MS,
        stop,
      };
      worker.postMessage(job);
    } catch (err) {
      opts.logger.warn("page cache prewarm failed", { error: err });
      finish();
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    timer = undefined;
    spawn();
  }, opts.delayMs ?? START_DELAY_MS);
  timer.unref();

  return {
    first,
    get passes() {
      return passes;
    },
    async stop() {
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
        finish();
      }
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      await end;
    },
  };
}
