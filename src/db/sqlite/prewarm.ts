import type { Database as SqliteConnection } from "bun:sqlite";
import { type FileHandle, open } from "node:fs/promises";
import type { Logger } from "../../log/logger.ts";

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
 * keeps them. A pass over pages already in memory is a copy from the page cache, ~0.1 s at a
 * million clients, done by the I/O threads.
 */
const PREWARM_EVERY_MS = 30_000;

/** One read covers up to this many pages; pages up to MAX_GAP apart are read with the gap between. */
const MAX_RUN = 128;
const MAX_GAP = 2;
/** Reads in flight at once: enough to keep a disk busy on the first pass, not to crowd out the service's own reads. */
const IN_FLIGHT = 2;

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
  /** Stops the timer and any pass under way; resolves once no read is in flight and the file is closed. */
  stop(): Promise<void>;
}

export interface PrewarmOptions {
  path: string;
  /** Reads the schema (root pages) and the page size; any connection to the file. */
  connection: SqliteConnection;
  logger: Logger;
  btrees?: readonly string[];
  everyMs?: number;
}

/**
 * Keeps the pages of the auth path's B-trees in the operating system's page cache, like
 * PostgreSQL's pg_prewarm: a client's first call after a restart then costs no disk read. It reads
 * the file directly, not through SQLite: from each B-tree's root, level by level, each level's
 * pages sorted and read in file order by the I/O threads (node:fs), the interior pages parsed for
 * their children and the leaves only read. Nothing runs on the event loop but the parse of the
 * interior pages (about 1 % of the pages), so requests are not held up; the memory is the page
 * cache's, not the process's (RSS grows by the read buffers, 1 MiB).
 *
 * Pages written since the last checkpoint are read as the file has them (the WAL's newer copies
 * are not looked at): a split since then may leave a few new pages out until the checkpoint.
 */
export function startPrewarm(opts: PrewarmOptions): Prewarm {
  const btrees = opts.btrees ?? AUTH_PATH_BTREES;
  const everyMs = opts.everyMs ?? PREWARM_EVERY_MS;
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
  const roots = rows.map((r) => r.rootpage).filter((p) => p > 0);
  let stopped = false;
  let passes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<PrewarmPass | undefined> = Promise.resolve(undefined);

  const pass = () => {
    running = walk(opts.path, pageSize, roots, () => stopped).then(
      (r) => {
        if (r) passes++;
        return r;
      },
      (err) => {
        opts.logger.warn("page cache prewarm failed", { error: err });
        return undefined;
      },
    );
    running.then(() => {
      if (!stopped) {
        timer = setTimeout(pass, everyMs);
        timer.unref();
      }
    });
    return running;
  };

  const first = pass().then((r) => {
    if (r) opts.logger.info("page cache prewarmed", { btrees: rows.length, pages: r.pages, mib: Math.round(r.bytes / 2 ** 20), ms: Math.round(r.ms) });
    return r;
  });

  return {
    first,
    get passes() {
      return passes;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * One pass: every page of the B-trees from `roots` read once, level by level; undefined when
 * stopped midway. `level[p]` is the level page p was found on (0: not found), so that a level's
 * pages are read in file order without a sorted list, and no step holds the event loop for
 * longer than a scan of that array (a byte per page).
 */
async function walk(path: string, pageSize: number, roots: number[], stopped: () => boolean): Promise<PrewarmPass | undefined> {
  const t0 = performance.now();
  const file = await open(path, "r");
  try {
    const pageCount = Math.floor((await file.stat()).size / pageSize);
    const level = new Uint8Array(pageCount + 1);
    let found = 0;
    let pages = 0;
    let bytes = 0;
    const add = (page: number, at: number) => {
      if (page >= 1 && page <= pageCount && level[page] === 0) {
        level[page] = at;
        found++;
      }
    };
    for (const root of roots) add(root, 1);
    for (let at = 1; found > 0 && at < 255; at++) {
      pages += found;
      found = 0;
      const read = await readLevel(file, pageSize, level, at, stopped, (page, offset, buf) =>
        children(buf, offset, pageSize, page, (child) => add(child, at + 1)),
      );
      if (read === undefined) return undefined;
      bytes += read;
    }
    return { pages, bytes, ms: performance.now() - t0 };
  } finally {
    await file.close();
  }
}

/**
 * Reads the pages of one level (`level[p] === at`) in file order, nearby ones in one read,
 * IN_FLIGHT reads at a time, and hands each to `each`. Returns the bytes read, or undefined when
 * stopped.
 */
async function readLevel(
  file: FileHandle,
  pageSize: number,
  level: Uint8Array,
  at: number,
  stopped: () => boolean,
  each: (page: number, offset: number, buf: Uint8Array) => void,
): Promise<number | undefined> {
  let cursor = 1;
  let bytes = 0;
  /** The next run of this level's pages from the cursor on: [first, last], or undefined at the end. */
  const nextRun = (): [number, number] | undefined => {
    while (cursor < level.length && level[cursor] !== at) cursor++;
    if (cursor >= level.length) return undefined;
    const from = cursor;
    let last = cursor;
    for (let p = cursor + 1; p < level.length && p - last <= MAX_GAP && p - from < MAX_RUN; p++) if (level[p] === at) last = p;
    cursor = last + 1;
    return [from, last];
  };
  const reader = async () => {
    const buf = new Uint8Array(MAX_RUN * pageSize);
    for (let run = nextRun(); run; run = nextRun()) {
      if (stopped()) return false;
      const [from, to] = run;
      const { bytesRead } = await file.read(buf, 0, (to - from + 1) * pageSize, (from - 1) * pageSize);
      bytes += bytesRead;
      for (let p = from; p <= to && (p - from + 1) * pageSize <= bytesRead; p++) if (level[p] === at) each(p, (p - from) * pageSize, buf);
    }
    return true;
  };
  const done = await Promise.all(Array.from({ length: IN_FLIGHT }, reader));
  return done.every(Boolean) ? bytes : undefined;
}

/** The child pages of an interior B-tree page, each handed to `push`; a leaf (or anything else) has none. */
function children(buf: Uint8Array, at: number, pageSize: number, page: number, push: (child: number) => void): void {
  const view = new DataView(buf.buffer, buf.byteOffset + at, pageSize);
  const hdr = page === 1 ? 100 : 0; // page 1 starts with the file header
  const kind = view.getUint8(hdr);
  if (kind !== 2 && kind !== 5) return; // 2: interior index page, 5: interior table page
  const cells = view.getUint16(hdr + 3);
  push(view.getUint32(hdr + 8)); // the right-most child
  const pointers = hdr + 12;
  if (pointers + 2 * cells > pageSize) return;
  for (let i = 0; i < cells; i++) {
    const cell = view.getUint16(pointers + 2 * i);
    if (cell + 4 <= pageSize) push(view.getUint32(cell)); // each cell starts with its left child
  }
}
