import type { MaybePromise } from "../shared/maybe.ts";
import type { Database } from "./database.ts";

interface PreparedSelect {
  all(params?: Record<string, unknown>): unknown;
  execute(params?: Record<string, unknown>): Promise<unknown>;
}

/**
 * Runs a prepared SELECT: synchronously on SQLite (Drizzle's bun-sqlite `all()`, no promise), as a
 * promise on Postgres. Hot-path repository methods return this as is.
 */
export function preparedAll<T>(db: Pick<Database, "dialect">, stmt: PreparedSelect, params: Record<string, unknown>): MaybePromise<T[]> {
  return (db.dialect === "sqlite" ? stmt.all(params) : stmt.execute(params)) as MaybePromise<T[]>;
}
