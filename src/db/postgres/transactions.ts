import type { Sql } from "postgres";
import { type BackoffPolicy, backoffDelay } from "../../lib/backoff.ts";
import type { Logger } from "../../log/logger.ts";
import type { PgExecutor, PgTables } from "../executors.ts";
import type { PgBus } from "../invalidation/postgres.ts";
import { appendQueued } from "../outbox-append.ts";
import type { StatisticsSchedule } from "../statistics.ts";
import { type CommitListeners, TxScope } from "../transaction.ts";
import { PgGroupCommit } from "./group-commit.ts";
import { pipelinedTransaction } from "./pipeline.ts";

/** Bounded retry of a transaction that Postgres aborted to resolve a conflict. */
const MAX_ATTEMPTS = 6;
/** Full jitter: two transactions that conflicted should not meet again. */
const CONFLICT_BACKOFF: BackoffPolicy = { baseMs: 5, maxMs: 200, jitter: "full" };

/** 40001 serialization_failure, 40P01 deadlock_detected: the transaction did nothing; run it again. */
export function isRetryable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === "40001" || e.code === "40P01") return true;
  }
  return false;
}

export interface PgTransactionsDeps {
  /** The pool, as Drizzle sees it. */
  db: PgExecutor;
  /** The same pool, as postgres.js: each transaction reserves one of its connections. */
  pool: Sql;
  tables: PgTables;
  bus: PgBus;
  statistics: StatisticsSchedule;
  commits: CommitListeners;
  logger: Logger;
}

/**
 * One Postgres transaction per `transact`: the events appended to the outbox and the invalidations
 * NOTIFYed inside it, just before COMMIT; a conflict (isRetryable) runs it again, a bounded number
 * of times; after COMMIT, the after-commit hooks, this instance's invalidations, the commit listeners.
 */
export function pgTransactions(deps: PgTransactionsDeps) {
  const { db, pool, tables, bus, statistics, commits, logger } = deps;
  const group = new PgGroupCommit(pool);

  /**
   * One attempt: the transaction's writes nobody awaits held and pipelined — a create is one
   * statement (src/db/postgres/pipeline.ts) — its events appended to the outbox and its
   * invalidations NOTIFYed with its commit.
   */
  async function attempt<T>(fn: (tx: TxScope<PgExecutor>) => Promise<T>): Promise<{ value: T; scope: TxScope<PgExecutor> }> {
    const { exec, pipeline } = pipelinedTransaction(db, pool, group);
    const scope = new TxScope<PgExecutor>(exec);
    try {
      const value = await fn(scope);
      if (scope.events.length > 0 || scope.kicks.length > 0) await appendQueued(scope.db, tables, scope);
      bus.beforeCommit((channel, payload) => pipeline.notify(channel, payload), scope.invalidations);
      await pipeline.commit();
      return { value, scope };
    } catch (err) {
      // A statement sent before the failure (a pipelined insert) failed first: that is the cause.
      const first = await pipeline.abort();
      throw first ? first.error : err;
    } finally {
      pipeline.release();
    }
  }

  return async function run<T>(fn: (tx: TxScope<PgExecutor>) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      let done: { value: T; scope: TxScope<PgExecutor> };
      try {
        done = await attempt(fn);
      } catch (err) {
        if (!isRetryable(err) || n >= MAX_ATTEMPTS) throw err;
        logger.debug("transaction conflict, retrying", {
          attempt: n,
          code: (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code,
        });
        await Bun.sleep(backoffDelay(n, CONFLICT_BACKOFF));
        continue;
      }
      const { value, scope } = done;
      statistics.committed(1);
      scope.runCommitHooks((err) => logger.error("after-commit hook failed", { error: err }));
      bus.afterCommit(scope.invalidations);
      commits.notify({ transactions: 1, events: scope.events.length, kicks: scope.kicks.length });
      return value;
    }
  };
}
