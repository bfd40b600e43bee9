import { fillPlaceholders, getTableName, is, sql, type Table } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { BaseSQLiteDatabase, type SQLiteTable } from "drizzle-orm/sqlite-core";
import type { PgExecutor, SqliteExecutor } from "../executors.ts";
import type { Executor } from "../portable.ts";
import { type PgPipeline, pipelineOf } from "../postgres/pipeline.ts";

/** Rows per INSERT statement: keeps a bulk insert under the database's bound-parameter limit. */
const CHUNK = 500;
/** Inserts of up to this many rows (a create's entity, role, actions, member and event) are prepared once per shape. */
const PREPARED_MAX_ROWS = 64;

interface PreparedInsert {
  run(params: Record<string, unknown>): unknown;
}

/** Per SQLite executor (the write connection): prepared inserts by table, row count and columns. */
const preparedByExecutor = new WeakMap<object, Map<string, { stmt: PreparedInsert; names: string[][] }>>();

/**
 * Inserts `rows` into `table` inside a transaction (`exec` is the transaction's executor), in
 * chunks of 500. Repositories call this instead of `exec.insert(table).values(rows)`.
 *
 * On SQLite, an insert of a few rows whose objects share one set of keys runs a statement Drizzle
 * built once for that shape, with placeholders: building the SQL text (Drizzle's query builder,
 * per call) costs more than SQLite takes to run the insert, and a create writes five such inserts.
 * Values are mapped exactly as Drizzle maps them (JSON columns, …): a placeholder is encoded
 * by its column. Large batches take the builder as is.
 *
 * In a Postgres write transaction the insert is pipelined (src/db/postgres/pipeline.ts): sent at
 * once, not waited for; a failure surfaces when the transaction next waits (at the latest, its
 * COMMIT). `onError` maps a failure to the error the caller means (a unique violation to a 409…)
 * on both backends, wherever it surfaces: callers pass it instead of catching.
 */
export async function insertRows(
  exec: Executor | SqliteExecutor | PgExecutor,
  table: Table,
  rows: readonly object[],
  onError?: (err: unknown) => unknown,
): Promise<void> {
  if (rows.length === 0) return;
  const pipeline = pipelineOf(exec);
  if (pipeline) {
    sendInserts(exec as PgExecutor, pipeline, table as PgTable, rows, onError);
    return;
  }
  try {
    if (is(exec, BaseSQLiteDatabase)) {
      const sqlite = exec as SqliteExecutor;
      const keys = rows.length <= PREPARED_MAX_ROWS ? shapeOf(rows) : undefined;
      if (keys !== undefined) {
        runPrepared(sqlite, table as SQLiteTable, rows, keys);
        return;
      }
      for (let i = 0; i < rows.length; i += CHUNK) {
        // Between chunks of a big batch, one event-loop turn: SQLite runs a statement synchronously,
        // and without it a bulk of thousands would keep device authentication (reads on the other
        // connection) waiting until it commits.
        if (i > 0) await nextTurn();
        await sqlite.insert(table as SQLiteTable).values(rows.slice(i, i + CHUNK) as never);
      }
      return;
    }
    const pg = exec as PgExecutor;
    for (let i = 0; i < rows.length; i += CHUNK) await pg.insert(table as PgTable).values(rows.slice(i, i + CHUNK) as never);
  } catch (err) {
    throw onError ? onError(err) : err;
  }
}

/** Postgres: the SQL of an insert of a few rows, built once per shape (as on SQLite), placeholders in. */
const pgTemplates = new Map<string, { text: string; params: unknown[]; names: string[][] }>();

function sendInserts(pg: PgExecutor, pipeline: PgPipeline, table: PgTable, rows: readonly object[], onError?: (err: unknown) => unknown): void {
  const keys = rows.length <= PREPARED_MAX_ROWS ? shapeOf(rows) : undefined;
  if (keys === undefined) {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const q = pg
        .insert(table)
        .values(rows.slice(i, i + CHUNK) as never)
        .toSQL();
      pipeline.add({ text: q.sql, params: q.params, onError, table: getTableName(table) });
    }
    return;
  }
  const shape = `${getTableName(table)}|${rows.length}|${keys.join(",")}`;
  let entry = pgTemplates.get(shape);
  if (!entry) {
    // No column default is evaluated here: every column the rows leave out is the database's DEFAULT.
    const names = rows.map((_, i) => keys.map((k) => `${i}.${k}`));
    const template = names.map((rowNames) => Object.fromEntries(keys.map((k, j) => [k, sql.placeholder(rowNames[j]!)])));
    const q = pg
      .insert(table)
      .values(template as never)
      .toSQL();
    entry = { text: q.sql, params: q.params, names };
    pgTemplates.set(shape, entry);
  }
  pipeline.add({ text: entry.text, params: fillPlaceholders(entry.params, valuesOf(rows, keys, entry.names)), onError, table: getTableName(table), shape });
}

function valuesOf(rows: readonly object[], keys: string[], names: string[][]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<string, unknown>;
    const rowNames = names[i]!;
    for (let j = 0; j < keys.length; j++) params[rowNames[j]!] = row[keys[j]!];
  }
  return params;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The keys with a defined value, when every row has the same ones (else undefined: not prepared). */
function shapeOf(rows: readonly object[]): string[] | undefined {
  const keys = definedKeys(rows[0]!);
  const signature = keys.join(",");
  for (let i = 1; i < rows.length; i++) if (definedKeys(rows[i]!).join(",") !== signature) return undefined;
  return keys;
}

function definedKeys(row: object): string[] {
  const keys: string[] = [];
  // for…in, not Object.entries: no [key, value] array per key (a create maps 13 rows). Rows are
  // plain object literals, so it sees exactly their own keys, in the same order.
  for (const k in row) if ((row as Record<string, unknown>)[k] !== undefined) keys.push(k);
  return keys;
}

function runPrepared(exec: SqliteExecutor, table: SQLiteTable, rows: readonly object[], keys: string[]): void {
  let byShape = preparedByExecutor.get(exec);
  if (!byShape) preparedByExecutor.set(exec, (byShape = new Map()));
  const shape = `${getTableName(table)}|${rows.length}|${keys.join(",")}`;
  let entry = byShape.get(shape);
  if (!entry) {
    const names = rows.map((_, i) => keys.map((k) => `${i}.${k}`));
    const template = names.map((rowNames) => Object.fromEntries(keys.map((k, j) => [k, sql.placeholder(rowNames[j]!)])));
    entry = {
      stmt: exec
        .insert(table)
        .values(template as never)
        .prepare() as unknown as PreparedInsert,
      names,
    };
    byShape.set(shape, entry);
  }
  entry.stmt.run(valuesOf(rows, keys, entry.names));
}
