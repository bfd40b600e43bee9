import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres, { type Options, type Sql } from "postgres";
import { assetPath } from "../assets.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import { type Database, type Executor, type OutboxWriter, type Tables, TxScope } from "./database.ts";
import { createPgBus, idle } from "./invalidation.ts";
import { MIGRATIONS_TABLE, type MigrationStatus, statusOf } from "./migrations.ts";
import { pgSchema } from "./schema.pg.ts";
import { statisticsSchedule } from "./statistics.ts";

export const PG_MIGRATIONS = assetPath("drizzle", "postgres");
/** Where Drizzle's migrator keeps its bookkeeping table on Postgres. */
export const PG_MIGRATIONS_SCHEMA = "drizzle";

/** `application_name` of the service's connections (an import refuses to run beside them). */
export const SERVICE_APP_NAME = "magistrala-clients";
/** `application_name` of the command line's connections (migrate, export, import). */
export const CLI_APP_NAME = "magistrala-clients/cli";

export type PgSettings = Config["db"]["pg"];

/** Bounded retry of a transaction that Postgres aborted to resolve a conflict. */
const MAX_ATTEMPTS = 6;
/** Connections per instance; more waiting requests queue in the driver. */
const POOL_MAX = 10;
const CONNECT_TIMEOUT_S = 10;
/** Idle pooled connections are closed after this (the listener's never is). */
const IDLE_TIMEOUT_S = 60;
/** close() waits this long for in-flight transactions before it ends the connections. */
const CLOSE_WAIT_MS = 5000;

/**
 * Keeps the planner's statistics current, the way SQLite's PRAGMA optimize does there. Postgres's
 * autovacuum analyzes a table only a minute or more after it changed enough, and until then the
 * planner works without statistics: postgres.js prepares every statement, and a generic plan
 * chosen that way for a point lookup (`domain_id = $1 AND id = $2`) was seen scanning the whole
 * domain through `clients_parent_idx` — GET one client 7× slower after 10,000 creates, until an
 * ANALYZE (which also makes every cached plan of the table be planned again). At start-up and
 * after writes (src/db/statistics.ts), this analyzes the tables autovacuum's own rule calls stale
 * (rows modified since the last analysis ≥ 50 + 10 % of the live rows) — a sampled scan of those
 * tables only. Never throws: a failure is a warning.
 */
async function analyzeStale(pool: Sql, logger: Logger): Promise<void> {
  try {
    const stale = await pool<{ relname: string }[]>`
      SELECT relname FROM pg_stat_user_tables
      WHERE schemaname = current_schema() AND n_mod_since_analyze >= 50 + 0.1 * n_live_tup`;
    if (stale.length === 0) return;
    await pool.unsafe(`ANALYZE ${stale.map((t) => `"${t.relname.replaceAll('"', '""')}"`).join(", ")}`);
    logger.debug("analyzed tables", { tables: stale.map((t) => t.relname) });
  } catch (err) {
    logger.warn("could not refresh the planner statistics", { error: err });
  }
}

/**
 * One advisory lock key for "migrating this database": the first instance to start applies the
 * migrations, the others wait for it, then find nothing left to do. Advisory locks are per
 * database, so instances on other databases of the same server never wait for each other.
 */
export const MIGRATION_LOCK_KEY = createHash("sha256").update("magistrala-clients/migrations").digest().readBigInt64BE(0).toString();

/** 40001 serialization_failure, 40P01 deadlock_detected: the transaction did nothing; run it again. */
export function isRetryable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === "40001" || e.code === "40P01") return true;
  }
  return false;
}

/** The database as an operator would name it, without the password. */
export function describeTarget(pg: PgSettings): string {
  const host = isIP(pg.host) === 6 ? `[${pg.host}]` : pg.host;
  return `postgres://${encodeURIComponent(pg.user)}@${host}:${pg.port}/${encodeURIComponent(pg.name)}?sslmode=${pg.sslMode}`;
}

type SslOption = false | ConnectionOptions;

/**
 * MG_CLIENTS_DB_SSL_MODE with libpq's meaning, as the TLS options to try in order:
 * - disable: plain; allow: plain, else TLS; prefer: TLS, else plain (both unverified, as in libpq);
 * - require: TLS without verification — but with a root certificate it verifies the chain, as
 *   libpq does when a root certificate file exists;
 * - verify-ca: TLS, the chain verified against MG_CLIENTS_DB_SSL_ROOT_CERT (else the system CAs);
 * - verify-full: verify-ca plus the server's name against MG_CLIENTS_DB_HOST.
 * MG_CLIENTS_DB_SSL_CERT/_KEY add a client certificate to every TLS attempt.
 */
export function sslCandidates(pg: PgSettings, read: (path: string) => string = (p) => readFileSync(p, "utf8")): SslOption[] {
  const base: ConnectionOptions = {};
  if (pg.sslCert) base.cert = read(pg.sslCert);
  if (pg.sslKey) base.key = read(pg.sslKey);
  const ca = pg.sslRootCert ? read(pg.sslRootCert) : undefined;
  const servername = isIP(pg.host) ? undefined : pg.host;
  const unverified: ConnectionOptions = { ...base, rejectUnauthorized: false, servername };
  const verifyCa: ConnectionOptions = { ...base, ca, rejectUnauthorized: true, servername, checkServerIdentity: () => undefined };
  switch (pg.sslMode) {
    case "disable":
      return [false];
    case "allow":
      return [false, unverified];
    case "prefer":
      return [unverified, false];
    case "require":
      return [ca ? verifyCa : unverified];
    case "verify-ca":
      return [verifyCa];
    case "verify-full":
      return [{ ...base, ca, rejectUnauthorized: true, servername }];
  }
}

export interface ConnectOptions {
  /** `application_name`, so an operator (and `import`) can tell the service's connections apart. */
  applicationName?: string;
  logger: Logger;
}

export interface PgConnector {
  /** A new client on the database (the pool, or a dedicated connection with `extra`). */
  connect(extra?: Partial<Options<Record<string, never>>> & Record<string, unknown>): Sql;
  readonly target: string;
}

/**
 * Settles the TLS choice once (allow/prefer try their alternatives in order, like libpq) and
 * returns a factory of clients that all use it. Never logs the password.
 */
export async function pgConnector(pg: PgSettings, opts: ConnectOptions): Promise<PgConnector> {
  const target = describeTarget(pg);
  const base = (ssl: SslOption, extra: Record<string, unknown> = {}): Options<Record<string, never>> =>
    ({
      host: pg.host,
      port: pg.port,
      user: pg.user,
      pass: pg.pass,
      database: pg.name,
      ssl,
      max: POOL_MAX,
      idle_timeout: IDLE_TIMEOUT_S,
      connect_timeout: CONNECT_TIMEOUT_S,
      // Notices ("schema already exists, skipping") would land on stdout among the JSON log lines.
      onnotice: (n: { message?: string }) => opts.logger.debug("postgres notice", { message: n.message }),
      connection: { application_name: opts.applicationName ?? SERVICE_APP_NAME },
      ...extra,
    }) as Options<Record<string, never>>;
  const candidates = sslCandidates(pg);
  const chosen = candidates.length === 1 ? candidates[0]! : await firstThatConnects(candidates, (ssl) => base(ssl, { max: 1 }), target);
  if (candidates.length > 1) opts.logger.debug("postgres connection settled", { target, tls: chosen !== false });
  return { target, connect: (extra) => postgres(base(chosen, extra)) };
}

/** allow/prefer: the first TLS choice a probe connection succeeds with (the last failure if none does). */
async function firstThatConnects(candidates: SslOption[], options: (ssl: SslOption) => Options<Record<string, never>>, target: string): Promise<SslOption> {
  let lastError: unknown;
  for (const ssl of candidates) {
    const probe = postgres(options(ssl));
    try {
      await probe`SELECT 1`;
      return ssl;
    } catch (err) {
      lastError = err;
    } finally {
      await probe.end({ timeout: 0 }).catch(() => undefined);
    }
  }
  throw connectError(target, lastError);
}

/** A connection failure, in one line with the target (never the password). */
export function connectError(target: string, err: unknown): Error {
  const e = err as { message?: string; code?: string } | undefined;
  let message = e?.message ?? String(err);
  // What the TLS layer says when the server answered "no SSL here" to a mode that needs it.
  if (/before secure TLS connection was established/.test(message)) message += " (does the server accept SSL connections?)";
  return new Error(`cannot connect to ${target}: ${message}`);
}

/**
 * Applies the pending migrations of `folder` under the migration advisory lock, on a dedicated
 * connection (the session lock and the migration transaction share it). Instances that start
 * together queue on the lock; each finds what the previous one applied.
 */
export async function migratePostgres(connector: PgConnector, folder = PG_MIGRATIONS): Promise<{ before: MigrationStatus; after: MigrationStatus }> {
  const client = connector.connect({ max: 1, idle_timeout: 0 });
  try {
    await client`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`.catch((err: unknown) => {
      throw connectError(connector.target, err);
    });
    try {
      // Read under the lock: what this process applies, not what another one applied meanwhile.
      const before = statusOf(await appliedPgMigrations(client), folder);
      await migrate(drizzle({ client }), { migrationsFolder: folder, migrationsSchema: PG_MIGRATIONS_SCHEMA, migrationsTable: MIGRATIONS_TABLE });
      return { before, after: statusOf(await appliedPgMigrations(client), folder) };
    } finally {
      await client`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.catch(() => undefined);
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** The rows Drizzle's migrator recorded, or [] when the database has none yet. */
export async function appliedPgMigrations(sql: Sql): Promise<{ hash: string; when: number }[]> {
  const [{ table } = { table: null }] = await sql<
    { table: string | null }[]
  >`SELECT to_regclass(${`${PG_MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`})::text AS table`;
  if (!table) return [];
  const rows = await sql<
    { hash: string; created_at: string }[]
  >`SELECT hash, created_at FROM ${sql(PG_MIGRATIONS_SCHEMA)}.${sql(MIGRATIONS_TABLE)} ORDER BY created_at`;
  return rows.map((r) => ({ hash: r.hash, when: Number(r.created_at) }));
}

/**
 * The pool as Drizzle should see it: every statement it sends becomes a prepared statement that
 * postgres.js keeps per connection (keyed by the SQL text), inside transactions too. Drizzle asks
 * for unnamed, re-parsed statements unless a query is prepared under a name; on the hot paths the
 * parse and plan cost as much as the lookup itself (a GET by id ran at half the speed).
 */
function preparing(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === "unsafe")
        return (query: string, params?: unknown[], options?: object) => target.unsafe(query, params as never, { ...options, prepare: true });
      if (prop === "begin")
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown;
          return (target.begin as (...a: unknown[]) => unknown)(...args, (tx: Sql) => fn(preparing(tx)));
        };
      if (prop === "savepoint")
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown;
          return (target as unknown as { savepoint: (...a: unknown[]) => unknown }).savepoint(...args, (tx: Sql) => fn(preparing(tx)));
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

export interface PostgresOptions {
  settings: PgSettings;
  logger: Logger;
  writeOutbox: OutboxWriter;
  /** As for SQLite: after each commit that wrote events, with how many (wakes the publisher). */
  onEventsCommitted?: (count: number) => void;
  /** Apply pending migrations under the advisory lock (default true). */
  migrate?: boolean;
  applicationName?: string;
}

export interface PostgresDatabase extends Database {
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
  const tables = pgSchema as unknown as Tables;
  const read = db as unknown as Executor;
  const inflight = new Set<Promise<unknown>>();
  let closed = false;
  // At start-up too: a database filled by `import`, or before an upgrade, may have no statistics.
  const initialAnalysis = analyzeStale(pool, logger);
  const statistics = statisticsSchedule(() => analyzeStale(pool, logger));
  logger.info("opened the postgres database", { target: connector.target });

  async function attempt<T>(fn: (tx: TxScope) => Promise<T>): Promise<{ value: T; scope: TxScope }> {
    let scope!: TxScope;
    const value = await db.transaction(async (t) => {
      scope = new TxScope(t as unknown as Executor);
      const value = await fn(scope);
      if (scope.events.length > 0) await opts.writeOutbox(scope.db, tables, scope.events);
      await bus.beforeCommit(scope.db, scope.invalidations);
      return value;
    });
    return { value, scope };
  }

  async function run<T>(fn: (tx: TxScope) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      let done: { value: T; scope: TxScope };
      try {
        done = await attempt(fn);
      } catch (err) {
        if (!isRetryable(err) || n >= MAX_ATTEMPTS) throw err;
        logger.debug("transaction conflict, retrying", {
          attempt: n,
          code: (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code,
        });
        await Bun.sleep(Math.random() * Math.min(5 * 2 ** n, 200));
        continue;
      }
      const { value, scope } = done;
      statistics.committed(1);
      scope.runCommitHooks((err) => logger.error("after-commit hook failed", { error: err }));
      bus.afterCommit(scope.invalidations);
      if (scope.events.length > 0 && opts.onEventsCommitted) {
        try {
          opts.onEventsCommitted(scope.events.length);
        } catch (err) {
          logger.error("events-committed notification failed", { error: err });
        }
      }
      return value;
    }
  }

  return {
    dialect: "postgres",
    tables,
    read,
    bus,
    sql: pool,
    target: connector.target,
    transact<T>(fn: (tx: TxScope) => Promise<T>): Promise<T> {
      if (closed) return Promise.reject(new Error("database is closed"));
      const p = run(fn);
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

/** What `migrate --status` shows for a Postgres database (connects, reads, disconnects). */
export async function pgMigrationStatus(settings: PgSettings, logger: Logger): Promise<MigrationStatus> {
  const connector = await pgConnector(settings, { logger, applicationName: CLI_APP_NAME });
  const client = connector.connect({ max: 1 });
  try {
    return statusOf(await appliedPgMigrations(client), PG_MIGRATIONS);
  } catch (err) {
    throw connectError(connector.target, err);
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Connections of running service instances to the same database (import refuses to run beside them). */
export async function serviceConnections(db: PostgresDatabase): Promise<number> {
  const [row] = await db.sql<{ n: string }[]>`
    SELECT count(*) AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name IN (${SERVICE_APP_NAME}, ${`${SERVICE_APP_NAME}/bus`})`;
  return Number(row?.n ?? 0);
}
