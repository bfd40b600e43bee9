const MiB = 2 ** 20;

/**
 * The data commands (export, import) stay under their peak-RSS budget (docs/scale.md: < 128 MiB at
 * a million clients) although they make garbage at the rate they read: every row is a string, a
 * parsed object, a JSON line, a statement's parameters. Bun's collector runs when its heap grows,
 * not when the process does, and the pages it frees stay with the process until they are reused;
 * so, between pages or chunks, this collects at once whenever the process is above `softLimit`.
 * A collection costs a few milliseconds with what these commands keep alive (one page or batch),
 * against ~1,000 rows or 256 KiB of input each time. (At 100,000 clients: export peaks at 83 MiB
 * with a limit of 80 instead of 102 without, import at 116 MiB with 64 instead of 133.)
 */
export function memoryGuard(softLimitMiB: number): () => void {
  const softLimit = softLimitMiB * MiB;
  return () => {
    if (process.memoryUsage.rss() > softLimit) Bun.gc(true);
  };
}
