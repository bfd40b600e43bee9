import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { PgDatabase } from "drizzle-orm/pg-core";
import type { PostgresJsQueryResultHKT } from "drizzle-orm/postgres-js";
import type { pgSchema } from "./schema/postgres.ts";
import type { sqliteSchema } from "./schema/sqlite.ts";

/** Each dialect's query builder over its own tables, as its adapter (src/db/sqlite, src/db/postgres) holds it. */
export type SqliteExecutor = BunSQLiteDatabase<typeof sqliteSchema>;
export type SqliteTables = typeof sqliteSchema;

/** A Postgres pool or transaction (both are a PgDatabase of postgres.js), for the statements only Postgres has. */
export type PgExecutor = PgDatabase<PostgresJsQueryResultHKT, typeof pgSchema>;
export type PgTables = typeof pgSchema;
