import type { Database as SqliteConnection } from "bun:sqlite";
import { type BackoffPolicy, backoffDelay } from "../../lib/backoff.ts";
import type { Logger } from "../../log/logger.ts";
import type { SqliteExecutor } from "../executors.ts";
import type { BusEndpoint } from "../invalidation/bus.ts";
import { appendQueued } from "../outbox-append.ts";
import type { sqliteSchema } from "../schema/sqlite.ts";
import type { StatisticsSchedule } from "../statistics.ts";
import { type CommitListeners, TxScope } from "../transaction.ts";
import { isSqliteBusy } from "./busy.ts";
import type { ReadSnapshot } from "./read-snapshot.ts";

/**
 * The write connection gets SQLITE_BUSY at once (it never waits inside SQLite — that would block
 * the whole event loop) and the batch is retried with async backoff within BUSY_BUDGET_MS.
 */
const BUSY_BUDGET_MS = 10_000;
const BUSY_BACKOFF: BackoffPolicy = { baseMs: 5, maxMs: 200 };
/** Upper bound of transactions committed together (keeps one COMMIT from growing without limit). */
const MAX_BATCH = 256;

export interface GroupCommitDeps {
  writeConnection: SqliteConnection;
  write: SqliteExecutor;
  tables: Pick<typeof sqliteSchema, "outbox" | "kicks">;
  snapshot: ReadSnapshot;
  statistics: () => StatisticsSchedule;
  bus: BusEndpoint;
  commits: CommitListeners;
  logger: Logger;
}

export interface GroupCommit {
  transact<T>(fn: (tx: TxScope<SqliteExecutor>) => Promise<T>): Promise<T>;
  /** True while a batch is queued or running. */
  readonly busy: boolean;
  /** Resolves once the queue is empty. */
  drained(): Promise<void>;
  readonly stats: { transactions: number; commits: number };
}

interface Job {
  fn: (tx: TxScope<SqliteExecutor>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: transactions that queue up while one batch runs are executed together, each in
 * its own SAVEPOINT (a failure rolls back only its own work), under one BEGIN IMMEDIATE … COMMIT,
 * so one fsync acknowledges many writes. Nobody's promise resolves before that COMMIT. Transactions
 * run one after the other: an async transaction body never interleaves with another.
 */
export function groupCommit(deps: GroupCommitDeps): GroupCommit {
  const { writeConnection, write, snapshot, bus, commits, logger } = deps;
  const queue: Job[] = [];
  const stats = { transactions: 0, commits: 0 };
  let draining: Promise<void> | undefined;
  // Each job's SAVEPOINT and RELEASE, prepared once (exec would parse their text per job); the
  // connection is the statement cache's, which finalizes them before the file closes.
  const savepoint = writeConnection.prepare("SAVEPOINT job");
  const release = writeConnection.prepare("RELEASE job");

  async function runBatch(batch: Job[]): Promise<void> {
    const started = performance.now();
    for (let retry = 0; ; retry++) {
      const done: { job: Job; tx: TxScope<SqliteExecutor>; value: unknown }[] = [];
      const failed: { job: Job; err: unknown }[] = [];
      try {
        snapshot.release();
        writeConnection.exec("BEGIN IMMEDIATE");
        for (const job of batch) {
          savepoint.run();
          const tx = new TxScope(write);
          try {
            const value = await job.fn(tx);
            if (tx.events.length > 0 || tx.kicks.length > 0) await appendQueued(write, deps.tables, tx);
            release.run();
            done.push({ job, tx, value });
          } catch (err) {
            writeConnection.exec("ROLLBACK TO job");
            release.run();
            if (isSqliteBusy(err)) throw err;
            failed.push({ job, err });
          }
        }
        writeConnection.exec("COMMIT");
        snapshot.hold(); // before any caller or hook can read
        deps.statistics().committed(done.length);
        stats.commits++;
        stats.transactions += done.length;
      } catch (err) {
        if (writeConnection.inTransaction) writeConnection.exec("ROLLBACK");
        snapshot.hold();
        if (isSqliteBusy(err) && performance.now() - started < BUSY_BUDGET_MS) {
          if (retry % 10 === 0) logger.warn("database busy (another process holds the write lock), retrying", { retry: retry + 1, batch: batch.length });
          await Bun.sleep(backoffDelay(retry, BUSY_BACKOFF));
          continue;
        }
        for (const job of batch) job.reject(err);
        return;
      }
      for (const f of failed) f.job.reject(f.err);
      let events = 0;
      let kicks = 0;
      for (const d of done) {
        d.tx.runCommitHooks((err) => logger.error("after-commit hook failed", { error: err }));
        bus.afterCommit(d.tx.invalidations);
        events += d.tx.events.length;
        kicks += d.tx.kicks.length;
        d.job.resolve(d.value);
      }
      if (done.length > 0) commits.notify({ transactions: done.length, events, kicks });
      return;
    }
  }

  // A transaction body runs without a macrotask boundary (SQLite answers synchronously) and COMMIT
  // blocks until fsync, so requests that arrive meanwhile are only read once the batch is done. One
  // event-loop turn before each batch lets them reach transact() and join it.
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  async function drain(): Promise<void> {
    await nextTurn();
    while (queue.length > 0) {
      await runBatch(queue.splice(0, MAX_BATCH));
      await nextTurn();
    }
    draining = undefined;
    deps.statistics().check();
  }

  return {
    stats,
    get busy() {
      return draining !== undefined;
    },
    transact<T>(fn: (tx: TxScope<SqliteExecutor>) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn: fn as Job["fn"], resolve: resolve as (v: unknown) => void, reject });
        draining ??= drain();
      });
    },
    async drained() {
      await draining;
    },
  };
}
