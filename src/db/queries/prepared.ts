import { Column, is, Placeholder } from "drizzle-orm";
import type { MaybePromise } from "../../lib/maybe-promise.ts";
import type { Database } from "../database.ts";

/** A prepared SELECT of either dialect: SQLite's also runs synchronously (`all`). */
interface PreparedSelect {
  all?(params?: Record<string, unknown>): unknown;
  values?(params?: Record<string, unknown>): unknown[][];
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
  if (db.dialect !== "sqlite") return stmt.execute(params) as Promise<T[]>;
  const map = rowMapperOf(stmt);
  if (!map) return stmt.all!(params) as T[];
  const direct = directOf(stmt);
  return (direct ? direct(params) : stmt.values!(params)).map(map) as T[];
}

/**
 * Whether a prepared SELECT returns any row: on SQLite its raw `values` (no row objects, no
 * mapping), synchronously; on Postgres a promise.
 */
export function preparedAny(db: Pick<Database, "dialect">, stmt: PreparedSelect, params: Record<string, unknown>): MaybePromise<boolean> {
  if (db.dialect !== "sqlite") return (stmt.execute(params) as Promise<unknown[]>).then((rows) => rows.length > 0);
  const direct = directOf(stmt);
  return (direct ? direct(params) : stmt.values!(params)).length > 0;
}

/** What Drizzle's bun-sqlite prepared query holds: the selected fields, in column order; the statement. */
interface SqlitePrepared {
  fields?: { path: string[]; field: unknown }[];
  customResultMapper?: unknown;
  stmt?: { values(...args: unknown[]): unknown[][] };
  query?: { params: unknown[] };
}
type RowMapper = (values: unknown[]) => Record<string, unknown>;
const mappers = new WeakMap<object, RowMapper | null>();
const directs = new WeakMap<object, ((params: Record<string, unknown>) => unknown[][]) | null>();

/**
 * For a statement whose parameters are all placeholders: bun:sqlite's statement run with them in
 * order, without Drizzle's `fillPlaceholders` and query logger on every call (a point read's
 * hot path, issue #14). null: a parameter is a bound value; Drizzle's `values()` runs it.
 */
function directOf(stmt: PreparedSelect): ((params: Record<string, unknown>) => unknown[][]) | null {
  let direct = directs.get(stmt);
  if (direct !== undefined) return direct;
  const q = stmt as PreparedSelect & SqlitePrepared;
  const raw = q.stmt;
  const placeholders = q.query?.params;
  direct = null;
  if (raw && typeof raw.values === "function" && placeholders?.every((p) => is(p, Placeholder))) {
    const names = placeholders.map((p) => (p as Placeholder).name);
    if (names.length === 1) {
      const [a] = names as [string];
      direct = (params) => raw.values(params[a]);
    } else if (names.length === 2) {
      const [a, b] = names as [string, string];
      direct = (params) => raw.values(params[a], params[b]);
    } else direct = (params) => raw.values(...names.map((n) => params[n]));
  }
  directs.set(stmt, direct);
  return direct;
}

/**
 * `(values) => ({ key0: values[0], key1: map(values[1]), … })`, written out once per statement:
 * a row object of one fixed shape, made by one literal (a loop adding the keys one by one made
 * each row go through a chain of shape transitions; issue #14, ~half of the mapper's time).
 * The keys are a table's own property names (identifiers), quoted anyway.
 */
function objectLiteralMapper(keys: string[], columns: Column[], mapped: boolean[]): RowMapper {
  const fields = keys.map(
    (k, i) => `${JSON.stringify(k)}: ${mapped[i] ? `values[${i}] === null ? null : columns[${i}].mapFromDriverValue(values[${i}])` : `values[${i}]`}`,
  );
  return new Function("columns", `return (values) => ({ ${fields.join(", ")} });`)(columns) as RowMapper;
}

/**
 * For a select of plain columns (a table's row, no joins): a mapper made once per statement that
 * does what Drizzle's generic mapResultRow does for such a row — each value through its column's
 * `mapFromDriverValue`, null kept — without walking a path, testing each field's kind and reducing
 * over the fields on every row (issue #14: most of a point read's cost). null: not such a select,
 * Drizzle's own `all()` maps it.
 */
function rowMapperOf(stmt: PreparedSelect): RowMapper | null {
  let map = mappers.get(stmt);
  if (map !== undefined) return map;
  const q = stmt as PreparedSelect & SqlitePrepared;
  const plain =
    typeof stmt.values === "function" &&
    q.fields !== undefined &&
    !q.customResultMapper &&
    // (joinsNotNullableMap, set even for one table, only matters for the two-part paths of a join)
    q.fields.every((f) => f.path.length === 1 && is(f.field, Column));
  if (plain) {
    const keys = q.fields!.map((f) => f.path[0]!);
    const columns = q.fields!.map((f) => f.field as Column);
    // Columns whose driver value is the value (text, integer) are copied; the others (JSON) mapped.
    const mapped = columns.map((c) => c.mapFromDriverValue !== Column.prototype.mapFromDriverValue);
    map = objectLiteralMapper(keys, columns, mapped);
  } else map = null;
  mappers.set(stmt, map);
  return map;
}
