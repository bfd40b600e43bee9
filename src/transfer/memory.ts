const MiB = 2 ** 20;

/**
 * The data commands (export, import) stay under their peak-RSS budget (docs/scale.md: < 128 MiB at
 * a million clients) although they make garbage at the rate they read: every row is a string, a
 * parsed object, a JSON line. Bun's collector runs when its heap grows, not when the process does,
 * and the allocator keeps what it freed until then; so, between pages or batches, this collects at
 * once when the process is above `softLimit`. When a collection cannot get below it (what is held
 * is live, or not the collector's), the limit moves up past what remained, so the command does
 * not collect on every batch; it moves down again when memory is returned.
 */
export function memoryGuard(softLimit = 80 * MiB): () => void {
  let limit = softLimit;
  return () => {
    if (process.memoryUsage.rss() <= limit) return;
    Bun.gc(true);
    const after = process.memoryUsage.rss();
    limit = Math.max(softLimit, after + 16 * MiB);
  };
}
