import { getTableName, is, Param, Placeholder, sql, type Table } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { BaseSQLiteDatabase, type SQLiteTable } from "drizzle-orm/sqlite-core";
import type { PgExecutor, SqliteExecutor } from "../executors.ts";
import type { Executor } from "../portable.ts";
import { type InsertTemplate, insertTemplate, insertText, MAX_PARAMS, type PgPipeline, pipelineOf } from "../postgres/pipeline.ts";

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
      const keys = shapeOf(rows);
      if (keys !== undefined && rows.length <= PREPARED_MAX_ROWS) {
        runPrepared(sqlite, table as SQLiteTable, rows, keys);
        return;
      }
      for (let i = 0; i < rows.length; i += CHUNK) {
        // Between chunks of a big batch, one event-loop turn: SQLite runs a statement synchronously,
        // and without it a bulk of thousands would keep device authentication (reads on the other
        // connection) waiting until it commits.
        if (i > 0) await nextTurn();
        const chunk = rows.slice(i, i + CHUNK);
        // Full chunks of one shape: one statement prepared once (building and preparing a
        // 500-row insert per chunk was most of a bulk create); a remainder as Drizzle builds it.
        if (keys !== undefined && chunk.length === CHUNK) runPrepared(sqlite, table as SQLiteTable, chunk, keys);
        else await sqlite.insert(table as SQLiteTable).values(chunk as never);
      }
      return;
    }
    const pg = exec as PgExecutor;
    for (let i = 0; i < rows.length; i += CHUNK) await pg.insert(table as PgTable).values(rows.slice(i, i + CHUNK) as never);
  } catch (err) {
    throw onError ? onError(err) : err;
  }
}

/** Postgres: an insert's one-row template per table and set of columns, built once (as on SQLite), placeholders in. */
const pgTemplates = new Map<string, { template: InsertTemplate; fill: Fill[] }>();

/** How one parameter of a template gets its value from a row: its column's encoder applied to row[name], or a constant. */
type Fill = { name: string; encoder: { mapToDriverValue(v: unknown): unknown } | undefined } | { constant: unknown };

/** Drizzle's fillPlaceholders for one template, worked out once: its parameters are column placeholders. */
function compileFill(params: unknown[]): Fill[] {
  return params.map((p): Fill => {
    if (is(p, Placeholder)) return { name: p.name, encoder: undefined };
    if (is(p, Param) && is(p.value, Placeholder)) return { name: p.value.name, encoder: p.encoder };
    return { constant: p };
  });
}

function sendInserts(pg: PgExecutor, pipeline: PgPipeline, table: PgTable, rows: readonly object[], onError?: (err: unknown) => unknown): void {
  const keys = shapeOf(rows);
  const name = getTableName(table);
  if (keys === undefined) {
    // Rows of different shapes: Drizzle's builder, which gives each row's missing columns `default`.
    for (let i = 0; i < rows.length; i += CHUNK) {
      const q = pg
        .insert(table)
        .values(rows.slice(i, i + CHUNK) as never)
        .toSQL();
      pipeline.add({ text: q.sql, params: q.params, onError, table: name });
    }
    return;
  }
  const entry = pgTemplateOf(pg, table, name, keys);
  if (rows.length <= PREPARED_MAX_ROWS) {
    const text = insertText(entry.template, rows.length);
    pipeline.add({ text, params: fillRows(entry.fill, rows, 0, rows.length), onError, table: name, insert: { template: entry.template, rows: rows.length } });
    return;
  }
  // A bulk: chunks of the same template (Drizzle's builder spent more on a 1,000-client bulk's
  // SQL text than Postgres on its rows). Sent as they are, not combined with other transactions.
  const chunk = Math.min(CHUNK, Math.floor(MAX_PARAMS / entry.template.width));
  for (let i = 0; i < rows.length; i += chunk) {
    const n = Math.min(chunk, rows.length - i);
    // Texts of full chunks are kept; a remainder's is built for the call (any size may come).
    pipeline.add({ text: insertText(entry.template, n, n === chunk), params: fillRows(entry.fill, rows, i, i + n), onError, table: name });
  }
}

/** The one-row template of `table` for a set of columns, built once by Drizzle with placeholders. */
function pgTemplateOf(pg: PgExecutor, table: PgTable, name: string, keys: string[]): { template: InsertTemplate; fill: Fill[] } {
  const shape = `${name}|${keys.join(",")}`;
  let entry = pgTemplates.get(shape);
  if (!entry) {
    // No column default is evaluated here: every column the rows leave out is the database's DEFAULT.
    const q = pg
      .insert(table)
      .values(Object.fromEntries(keys.map((k) => [k, sql.placeholder(k)])) as never)
      .toSQL();
    const template = insertTemplate(shape, q.sql, q.params.length);
    if (template === undefined) throw new Error(`unexpected insert text for ${name}: ${q.sql}`);
    entry = { template, fill: compileFill(q.params) };
    pgTemplates.set(shape, entry);
  }
  return entry;
}

/** The parameters of rows[from..to) in template order, each value encoded by its column. */
function fillRows(fill: Fill[], rows: readonly object[], from: number, to: number): unknown[] {
  const params: unknown[] = [];
  for (let i = from; i < to; i++) {
    const row = rows[i] as Record<string, unknown>;
    for (const f of fill) params.push("constant" in f ? f.constant : f.encoder ? f.encoder.mapToDriverValue(row[f.name]) : row[f.name]);
  }
  return params;
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
  const keys = definedKeys(rows[0] as Record<string, unknown>);
  for (let i = 1; i < rows.length; i++) if (!sameKeys(rows[i] as Record<string, unknown>, keys)) return undefined;
  return keys;
}

// Rows are plain objects (no enumerable inherited keys): for…in walks their own keys in order,
// without the arrays Object.entries makes (this runs for every insert of every write).
function definedKeys(row: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const k in row) if (row[k] !== undefined) keys.push(k);
  return keys;
}

function sameKeys(row: Record<string, unknown>, keys: string[]): boolean {
  let j = 0;
  for (const k in row) {
    if (row[k] === undefined) continue;
    if (keys[j] !== k) return false;
    j++;
  }
  return j === keys.length;
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
