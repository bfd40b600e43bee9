import { drizzle } from "drizzle-orm/postgres-js";
import type { Sql } from "postgres";
import { idle } from "../../lib/idle.ts";
import type { Logger } from "../../log/logger.ts";
import type { DatabaseOf } from "../database.ts";
import type { PgExecutor, PgTables } from "../executors.ts";
import { createPgBus } from "../invalidation/postgres.ts";
import { pgSchema } from "../schema/postgres.ts";
import { statisticsSchedule } from "../statistics.ts";
import { storageFullGuard } from "../storage-full.ts";
import { CommitListeners } from "../transaction.ts";
import { connectError, type PgSettings, pgConnector, SERVICE_APP_NAME } from "./connect.ts";
import { migratePostgres } from "./migrate.ts";
import { preparing } from "./prepared-statements.ts";
import { analyzeStale } from "./statistics.ts";
import { pgTransactions } from "./transactions.ts";

/** close() waits this long for in-flight transactions before it ends the connections. */
const CLOSE_WAIT_MS = 5000;

export interface PostgresOptions {
  settings: PgSettings;
  logger: Logger;
  /** Apply pending migrations under the advisory lock (default true). */
  migrate?: boolean;
  applicationName?: string;
}

export interface PostgresDatabase extends DatabaseOf<PgExecutor, PgTables> {
  readonly dialect: "postgres";
  /** The pool, for the few statements that are not Drizzle's (status, checks). */
  readonly sql: Sql;
  readonly target: string;
}

/**
 * Opens the service's Postgres database: one pool for reads and writes (MVCC: a read outside a
 * transaction sees committed data only), a dedicated listening connection for the invalidation
 * bus, migrations applied first under the advisory lock.
 */
export async function openPostgres(opts: PostgresOptions): Promise<PostgresDatabase> {
  const { logger } = opts;
  const storageFull = storageFullGuard(logger);
  const connector = await pgConnector(opts.settings, { logger, applicationName: opts.applicationName });
  const pool = connector.connect();
  try {
    await pool`SELECT 1`;
  } catch (err) {
    await pool.end({ timeout: 0 }).catch(() => undefined);
    throw connectError(connector.target, err);
  }
  const bus = createPgBus({
    pool,
    connect: (extra) => connector.connect({ ...extra, connection: { application_name: `${opts.applicationName ?? SERVICE_APP_NAME}/bus` } }),
    logger,
  });
  try {
    if (opts.migrate !== false) await migratePostgres(connector);
    await bus.ready;
  } catch (err) {
    await bus.close();
    await pool.end({ timeout: 0 }).catch(() => undefined);
    throw err;
  }
  const db = drizzle({ client: preparing(pool), schema: pgSchema });
  const inflight = new Set<Promise<unknown>>();
  const commits = new CommitListeners(logger);
  let closed = false;
  // At start-up too: a database filled by `import`, or before an upgrade, may have no statistics.
  const initialAnalysis = analyzeStale(pool, logger);
  const statistics = statisticsSchedule(() => analyzeStale(pool, logger));
  const run = pgTransactions({ db, pool, tables: pgSchema, bus, statistics, commits, logger });
  logger.info("opened the postgres database", { target: connector.target });

  return {
    dialect: "postgres",
    tables: pgSchema,
    read: db,
    bus,
    sql: pool,
    target: connector.target,
    onCommitted: (listener) => commits.add(listener),
    transact(fn) {
      if (closed) return Promise.reject(new Error("database is closed"));
      const p = run(fn).catch(storageFull);
      inflight.add(p);
      void p.catch(() => undefined).finally(() => inflight.delete(p));
      return p;
    },
    async close() {
      if (closed) return;
      closed = true;
      // In-flight writes finish first; one that never ends (a claim nobody acknowledges) is cut off.
      await Promise.race([Promise.allSettled([...inflight]), idle(CLOSE_WAIT_MS)]);
      await Promise.race([Promise.all([initialAnalysis, statistics.close()]), idle(CLOSE_WAIT_MS)]);
      await bus.close();
      await pool.end({ timeout: 5 });
    },
  };
}
