/**
 * The prewarm's reads (src/db/sqlite/prewarm.ts starts it), off the main thread: a pass, then a
 * wait of `everyMs`, until the main thread sets the stop flag. Plain blocking reads, so that
 * nothing of it runs on the event loop. Listed as an entry point of the compiled binary
 * (scripts/build.ts), as Bun requires of workers.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export interface PrewarmJob {
  path: string;
  pageSize: number;
  roots: number[];
  everyMs: number;
  /** Int32Array over a SharedArrayBuffer: [0] becomes 1 when the main thread asks the worker to stop. */
  stop: Int32Array;
}

export type PrewarmReport = { kind: "pass"; pages: number; bytes: number; ms: number } | { kind: "failed"; message: string } | { kind: "stopped" };

/** One read covers up to this many pages; pages up to MAX_GAP apart are read with the gap between. */
const MAX_RUN = 128;
const MAX_GAP = 2;
/**
 * A pass reads at most this fast (bytes per ms: 128 MiB/s), so that its copies and system calls
 * take a small share of a core at any moment rather than all of one for a fraction of a second.
 * A first pass from a disk is slower than that anyway.
 */
const MAX_BYTES_PER_MS = (128 * 2 ** 20) / 1000;

declare const self: Worker;

self.onmessage = (event: MessageEvent<PrewarmJob>) => {
  const job = event.data;
  const report = (r: PrewarmReport) => self.postMessage(r);
  const stopped = () => Atomics.load(job.stop, 0) !== 0;
  /** Sleeps `ms`, or less if asked to stop meanwhile. */
  const rest = (ms: number) => Atomics.wait(job.stop, 0, 0, ms);
  try {
    while (!stopped()) {
      const pass = walk(job, stopped, rest);
      if (pass) report({ kind: "pass", ...pass });
      if (!stopped()) rest(job.everyMs);
    }
  } catch (err) {
    report({ kind: "failed", message: (err as Error)?.message ?? String(err) });
  }
  report({ kind: "stopped" });
};

/**
 * One pass: every page of the B-trees from `job.roots` read once, level by level, each level in
 * file order; undefined when stopped midway. `level[p]` is the level page p was found on (0: not
 * found), so a level's pages come in file order without sorting a list.
 */
function walk(job: PrewarmJob, stopped: () => boolean, rest: (ms: number) => void): { pages: number; bytes: number; ms: number } | undefined {
  const { pageSize } = job;
  const t0 = performance.now();
  const fd = openSync(job.path, "r");
  try {
    const pageCount = Math.floor(fstatSync(fd).size / pageSize);
    const level = new Uint8Array(pageCount + 1);
    const buf = new Uint8Array(MAX_RUN * pageSize);
    const view = new DataView(buf.buffer);
    let found = 0;
    let pages = 0;
    let bytes = 0;
    const add = (page: number, at: number) => {
      if (page >= 1 && page <= pageCount && level[page] === 0) {
        level[page] = at;
        found++;
      }
    };
    for (const root of job.roots) add(root, 1);
    for (let at = 1; found > 0 && at < 255; at++) {
      pages += found;
      found = 0;
      for (let from = 1; from <= pageCount; from++) {
        if (level[from] !== at) continue;
        if (stopped()) return undefined;
        let to = from;
        for (let p = from + 1; p <= pageCount && p - to <= MAX_GAP && p - from < MAX_RUN; p++) if (level[p] === at) to = p;
        const read = readSync(fd, buf, 0, (to - from + 1) * pageSize, (from - 1) * pageSize);
        bytes += read;
        for (let p = from; p <= to && (p - from + 1) * pageSize <= read; p++) {
          if (level[p] === at) children(view, (p - from) * pageSize, p === 1 ? 100 : 0, pageSize, (child) => add(child, at + 1));
        }
        const ahead = t0 + bytes / MAX_BYTES_PER_MS - performance.now();
        if (ahead >= 1) rest(ahead);
        from = to;
      }
    }
    return { pages, bytes, ms: performance.now() - t0 };
  } finally {
    closeSync(fd);
  }
}

/**
 * The child pages of the interior B-tree page at `at` in `view`, each handed to `push`; a leaf (or
 * anything else) has none. `hdr`: where its header starts (page 1 starts with the file header).
 */
function children(view: DataView, at: number, hdr: number, pageSize: number, push: (child: number) => void): void {
  const kind = view.getUint8(at + hdr);
  if (kind !== 2 && kind !== 5) return; // 2: interior index page, 5: interior table page
  const cells = view.getUint16(at + hdr + 3);
  push(view.getUint32(at + hdr + 8)); // the right-most child
  const pointers = hdr + 12;
  if (pointers + 2 * cells > pageSize) return;
  for (let i = 0; i < cells; i++) {
    const cell = view.getUint16(at + pointers + 2 * i);
    if (cell + 4 <= pageSize) push(view.getUint32(at + cell)); // each cell starts with its left child
  }
}
