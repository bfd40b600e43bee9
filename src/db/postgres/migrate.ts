import { createHash } from "node:crypto";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import type { Sql } from "postgres";
import { assetPath } from "../../assets.ts";
import type { Logger } from "../../log/logger.ts";
import { MIGRATIONS_TABLE, type MigrationStatus, statusOf } from "../migrations.ts";
import { CLI_APP_NAME, connectError, type PgConnector, type PgSettings, pgConnector } from "./connect.ts";

export const PG_MIGRATIONS = assetPath("drizzle", "postgres");
/** Where Drizzle's migrator keeps its bookkeeping table on Postgres. */
const PG_MIGRATIONS_SCHEMA = "drizzle";

/**
 * One advisory lock key for "migrating this database": the first instance to start applies the
 * migrations, the others wait for it, then find nothing left to do. Advisory locks are per
 * database, so instances on other databases of the same server never wait for each other.
 */
const MIGRATION_LOCK_KEY = createHash("sha256").update("magistrala-clients/migrations").digest().readBigInt64BE(0).toString();

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
async function appliedPgMigrations(sql: Sql): Promise<{ hash: string; when: number }[]> {
  const [{ table } = { table: null }] = await sql<
    { table: string | null }[]
  >`SELECT to_regclass(${`${PG_MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`})::text AS table`;
  if (!table) return [];
  const rows = await sql<
    { hash: string; created_at: string }[]
  >`SELECT hash, created_at FROM ${sql(PG_MIGRATIONS_SCHEMA)}.${sql(MIGRATIONS_TABLE)} ORDER BY created_at`;
  return rows.map((r) => ({ hash: r.hash, when: Number(r.created_at) }));
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
