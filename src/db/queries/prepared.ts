import type { MaybePromise } from "../../lib/maybe-promise.ts";
import type { Database } from "../database.ts";

/** A prepared SELECT of either dialect: SQLite's also runs synchronously (`all`). */
interface PreparedSelect {
  all?(params?: Record<string, unknown>): unknown;
  execute(params?: Record<string, unknown>): Promise<unknown>;
}

/**
 * `.prepare()` of either dialect's query builder, for statements built once and run many times.
 * Postgres's builder asks for a statement name, which changes nothing here: postgres.js prepares
 * every statement of this service anyway (src/db/postgres/prepared-statements.ts).
 */
export function prepareQuery<Q extends { prepare(...args: never[]): unknown }>(query: Q): ReturnType<Q["prepare"]> {
  return (query.prepare as () => ReturnType<Q["prepare"]>).call(query);
}

/**
 * Point lookups (by a primary key or a unique index) carry no LIMIT: Drizzle binds `limit(1)` as a
 * parameter, and a bound LIMIT makes SQLite re-plan the statement on every run (~5 µs instead of
 * under 1 µs here). The key already guarantees at most one row.
 *
 * Runs a prepared SELECT: synchronously on SQLite (Drizzle's bun-sqlite `all()`, no promise), as a
 * promise on Postgres. Hot-path repository methods return this as is.
 */
export function preparedAll<T>(db: Pick<Database, "dialect">, stmt: PreparedSelect, params: Record<string, unknown>): MaybePromise<T[]> {
  return (db.dialect === "sqlite" ? stmt.all!(params) : stmt.execute(params)) as MaybePromise<T[]>;
}
