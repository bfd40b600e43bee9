/**
 * When the query planner's statistics are refreshed after writes, on either database (SQLite:
 * PRAGMA optimize; Postgres: ANALYZE of the stale tables). After writes, at most every
 * STATISTICS_EVERY_MS, or sooner — but not more often than STATISTICS_MIN_MS — once
 * STATISTICS_AFTER_TRANSACTIONS have committed (a provisioning burst). A timer covers the end of a
 * burst: no write is left to trigger the refresh that is due 5 s after the last one.
 */
const STATISTICS_EVERY_MS = 60_000;
const STATISTICS_MIN_MS = 5_000;
const STATISTICS_AFTER_TRANSACTIONS = 50;

export interface StatisticsSchedule {
  /** `count` transactions committed. */
  committed(count: number): void;
  /** Refreshes now if due (a caller that was busy when the refresh fell due calls this once idle). */
  check(): void;
  /** No refresh starts after this; resolves once a running one ended. */
  close(): Promise<void>;
}

export interface StatisticsTiming {
  minMs: number;
  everyMs: number;
  afterTransactions: number;
}
const TIMING: StatisticsTiming = { minMs: STATISTICS_MIN_MS, everyMs: STATISTICS_EVERY_MS, afterTransactions: STATISTICS_AFTER_TRANSACTIONS };

/**
 * `refresh` handles its own errors. It never starts while `busy()` (SQLite: a write batch is
 * running); the owner calls `check()` when it is idle again. The clock starts at creation: the
 * owner refreshes once at start-up itself. `timing` is for tests.
 */
export function statisticsSchedule(
  refresh: () => void | Promise<void>,
  busy: () => boolean = () => false,
  timing: StatisticsTiming = TIMING,
): StatisticsSchedule {
  let last = Date.now();
  let writes = 0;
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = 0;
  let closed = false;

  function check(): void {
    if (closed || running || writes === 0) return;
    const now = Date.now();
    const at = last + (writes >= timing.afterTransactions ? timing.minMs : timing.everyMs);
    if (at <= now) {
      if (busy()) return;
      if (timer) clearTimeout(timer);
      timer = undefined;
      last = now;
      writes = 0;
      const done = refresh();
      if (done) {
        running = done.finally(() => {
          running = undefined;
          check(); // writes that committed meanwhile
        });
      }
    } else if (!timer || at < timerAt) {
      if (timer) clearTimeout(timer);
      timerAt = at;
      timer = setTimeout(() => {
        timer = undefined;
        check();
      }, at - now).unref();
    }
  }

  return {
    committed(count) {
      writes += count;
      check();
    },
    check,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
