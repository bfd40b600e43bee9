import { closeSync, createReadStream, existsSync, fsyncSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { asc, type Column, getTableColumns, sql, type Table } from "drizzle-orm";
import { getTableConfig as pgTableConfig } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig } from "drizzle-orm/sqlite-core";
import { fsyncPath, isKeyHex, keyFingerprint } from "../backup/format.ts";
import { createTempFile, releaseTempFile, removeStaleTempFiles } from "../backup/temp-files.ts";
import { buildInfo } from "../buildinfo.ts";
import type { Database, Dialect } from "../db/database.ts";
import type { Executor } from "../db/portable.ts";
import { countersOff, countersRecounted } from "../db/postgres/bulk-load.ts";
import { pgExecutorOf } from "../db/postgres/executor.ts";
import { uniqueViolation } from "../db/queries/unique-violation.ts";
import { executorOf } from "../db/transaction.ts";
import { FLUSH_ALL } from "../domain/invalidation.ts";
import type { TxHandle } from "../domain/transaction.ts";
import { type Progress, type ProgressStep, silentProgress } from "../progress/progress.ts";
import { memoryGuard } from "./memory.ts";

/**
 * The portable dump (`export` / `import`): JSON lines, the same on SQLite and Postgres.
 *
 *   line 1      {"format":"magistrala-clients-dump","version":1,"created_at","software":{version,commit},
 *                "source":"sqlite"|"postgres","schema":"<last migration tag>","installation_key":"<hex>",
 *                "key_fingerprint","tables":[{"name","columns":[...]}]}
 *   then        {"table":"clients","values":[...]} per row, in the header's column order, tables
 *               grouped and in foreign-key order (a referenced table before the one referring to it)
 *   last line   {"end":true,"rows":{"clients":n,...}}   (a file without it is cut short)
 *
 * Every table of the schema is in it, found by walking the schema, so tables added later come along
 * without a change here. Values are JSON: numbers, strings, JSON documents as themselves, null;
 * booleans, dates (ISO 8601), bigints (decimal strings) and bytes (base64) by their column's type.
 * Stored secret hashes and the outbox are rows like any other; the installation key that the
 * hashes need travels in the header, so the file is as private as the data directory (0600).
 */
export const DUMP_FORMAT = "magistrala-clients-dump";
const DUMP_VERSION = 1;

/** A refusal or failure an operator can act on: the message is the whole story, on one line. */
export class DumpError extends Error {
  override name = "DumpError";
}

interface DumpHeader {
  format: string;
  version: number;
  created_at: string;
  software: { version: string; commit: string };
  source: string;
  schema: string;
  installation_key: string;
  key_fingerprint: string;
  tables: { name: string; columns: string[] }[];
}

interface ColumnInfo {
  key: string;
  name: string;
  dataType: string;
  /** Assigned by the database (the outbox's seq): given anew on a merge. */
  generated: boolean;
}

interface TableInfo {
  name: string;
  table: Table;
  columns: ColumnInfo[];
  /** Order of the rows in the dump (primary key, else every column). */
  order: Column[];
  /** `order` is the primary key: pages can start after a key instead of at an offset. */
  keyed: boolean;
}

/** What a dump is checked against: a database, or only its dialect and schema (before opening one). */
export interface SchemaOf {
  dialect: Dialect;
  tables: Record<string, Table>;
}

/** The schema's tables, each after the tables it refers to. */
function schemaTables(db: SchemaOf): TableInfo[] {
  const config = (t: Table) => (db.dialect === "postgres" ? pgTableConfig(t as never) : sqliteTableConfig(t as never));
  const infos = new Map<string, TableInfo & { refs: string[] }>();
  for (const table of Object.values(db.tables) as Table[]) {
    const cfg = config(table);
    const columns = Object.entries(getTableColumns(table)).map(([key, c]) => {
      const col = c as Column & { autoIncrement?: boolean; generatedIdentity?: unknown };
      return {
        key,
        name: col.name,
        dataType: col.dataType,
        generated: col.autoIncrement === true || /Serial/.test(col.columnType) || col.generatedIdentity !== undefined,
      };
    });
    const all = Object.values(getTableColumns(table)) as Column[];
    const pk = cfg.primaryKeys[0]?.columns ?? all.filter((c) => c.primary);
    const refs = cfg.foreignKeys.map((fk) => config(fk.reference().foreignTable as Table).name).filter((n) => n !== cfg.name);
    infos.set(cfg.name, { name: cfg.name, table, columns, order: pk.length > 0 ? (pk as Column[]) : all, keyed: pk.length > 0, refs });
  }
  const sorted: TableInfo[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string) => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") throw new Error(`foreign keys of ${name} form a cycle`);
    state.set(name, "visiting");
    const info = infos.get(name)!;
    for (const r of info.refs) if (infos.has(r)) visit(r);
    state.set(name, "done");
    sorted.push(info);
  };
  for (const name of infos.keys()) visit(name);
  return sorted;
}

const encode = (dataType: string, v: unknown): unknown => {
  if (v === null || v === undefined) return null;
  if (dataType === "json") return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  return v;
};

const decode = (dataType: string, v: unknown): unknown => {
  if (v === null) return null;
  if (dataType === "date") return new Date(v as string);
  if (dataType === "bigint") return BigInt(v as string);
  if (dataType === "buffer") return Buffer.from(v as string, "base64");
  return v;
};

/** Rows read per query while exporting: one page is all an export holds in memory. */
const PAGE = 1000;
/** Output is written in chunks of about this many characters (and the input read in chunks of as many bytes). */
const CHUNK = 256 * 1024;

export interface ExportResult {
  file: string;
  rows: Record<string, number>;
}

/**
 * The rows of a table in primary-key order, a page at a time: each page starts after the last key
 * of the previous one (an index seek), so reading stays linear however large the table.
 */
async function* tablePages(exec: Executor, t: TableInfo): AsyncGenerator<Record<string, unknown>[]> {
  const keyOf = new Map(t.columns.map((c) => [c.name, c.key]));
  const keys = t.order.map((c) => keyOf.get(c.name)!);
  const ordered = () =>
    exec
      .select()
      .from(t.table as never)
      .orderBy(...t.order.map((c) => asc(c)))
      .limit(PAGE);
  let after: unknown[] | undefined;
  for (let offset = 0; ; offset += PAGE) {
    let page: Record<string, unknown>[];
    if (!t.keyed) page = (await ordered().offset(offset)) as Record<string, unknown>[];
    else if (after === undefined) page = (await ordered()) as Record<string, unknown>[];
    else {
      const last = after;
      const cols = sql.join(
        t.order.map((c) => sql`${c}`),
        sql`, `,
      );
      const vals = sql.join(
        t.order.map((c, i) => sql.param(last[i], c)),
        sql`, `,
      );
      page = (await ordered().where(sql`(${cols}) > (${vals})`)) as Record<string, unknown>[];
    }
    if (page.length === 0) return;
    yield page;
    if (page.length < PAGE) return;
    const lastRow = page[page.length - 1]!;
    after = keys.map((k) => lastRow[k]);
  }
}

/** Rows per table, for the progress of a whole-database read. */
async function countRows(exec: Executor, tables: TableInfo[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of tables) {
    const [row] = (await exec.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(t.table as never)) as { n: number }[];
    out.set(t.name, row?.n ?? 0);
  }
  return out;
}

/**
 * Writes the dump of `db` (all of it read in one snapshot) to `file`, atomically (a temporary file
 * renamed over it) and 0600. `schema` is the last migration the database has (checked by the caller).
 * Memory stays bounded whatever the size: a page of rows and a chunk of output at a time.
 */
export async function exportDump(
  db: Database,
  opts: { file: string; key: Buffer; schema: string; snapshot: <T>(fn: (exec: Executor) => Promise<T>) => Promise<T>; progress?: Progress },
): Promise<ExportResult> {
  const progress = opts.progress ?? silentProgress;
  const tables = schemaTables(db);
  const header: DumpHeader = {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    created_at: new Date().toISOString(),
    software: { version: buildInfo.version, commit: buildInfo.commit },
    source: db.dialect,
    schema: opts.schema,
    installation_key: opts.key.toString("hex"),
    key_fingerprint: keyFingerprint(opts.key),
    tables: tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) })),
  };
  removeStaleTempFiles(dirname(opts.file));
  const tmp = createTempFile(opts.file);
  const fd = openSync(tmp, "w");
  const rows: Record<string, number> = {};
  // 80 MiB: a collection every page would double the time (docs/scale.md).
  const collect = memoryGuard(80);
  try {
    writeSync(fd, `${JSON.stringify(header)}\n`);
    await opts.snapshot(async (exec) => {
      const totals = await countRows(exec, tables);
      for (const t of tables) {
        const step = progress.step(t.name, totals.get(t.name), "rows");
        let n = 0;
        let chunk = "";
        for await (const page of tablePages(exec, t)) {
          for (const r of page) {
            chunk += `${JSON.stringify({ table: t.name, values: t.columns.map((c) => encode(c.dataType, r[c.key])) })}\n`;
            if (chunk.length >= CHUNK) {
              writeSync(fd, chunk);
              chunk = "";
            }
          }
          n += page.length;
          step.update(n);
          // On SQLite every read resolves at once: without a turn of the event loop, SIGINT or
          // SIGTERM would wait for the whole export (src/backup/temp-files.ts cleans up on them).
          await new Promise((resolve) => setImmediate(resolve));
          collect();
        }
        if (chunk !== "") writeSync(fd, chunk);
        step.end();
        rows[t.name] = n;
      }
    });
    writeSync(fd, `${JSON.stringify({ end: true, rows })}\n`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, opts.file);
    fsyncPath(dirname(opts.file));
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    throw err;
  } finally {
    releaseTempFile(tmp);
  }
  return { file: opts.file, rows };
}

type Line = { table: string; values: unknown[] } | { end: true; rows: Record<string, number> };

/**
 * The non-blank lines of a file with their numbers, read in large chunks (bounded memory: one chunk
 * and one line). `onBytes` learns how far into the file the reading is.
 */
async function* lines(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<{ n: number; text: string }> {
  const decoder = new TextDecoder();
  let rest = "";
  let n = 0;
  let bytes = 0;
  const collect = memoryGuard(64);
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      n++;
      const line = text.charCodeAt(nl - 1) === 13 && nl > start ? text.slice(start, nl - 1) : text.slice(start, nl);
      start = nl + 1;
      if (line.trim() !== "") yield { n, text: line };
    }
    rest = text.slice(start);
    onBytes?.(bytes);
    collect();
  }
  rest += decoder.decode();
  if (rest.trim() !== "") yield { n: n + 1, text: rest.endsWith("\r") ? rest.slice(0, -1) : rest };
}

export interface CheckedDump {
  header: DumpHeader;
  key: Buffer;
  rows: Record<string, number>;
}

/**
 * Reads the whole file once and checks it without touching any database: the format and its
 * version, the schema (one this build knows: `knownSchemas`, oldest first), every table and column
 * (present in this build's schema), every line, and the end line with the row counts.
 */
export async function checkDump(db: SchemaOf, file: string, knownSchemas: string[], progress: Progress = silentProgress): Promise<CheckedDump> {
  if (!existsSync(file)) throw new DumpError(`cannot import ${file}: no such file`);
  const step = progress.step("checking the dump", statSync(file).size, "bytes");
  const tables = new Map(schemaTables(db).map((t) => [t.name, t]));
  let header: DumpHeader | undefined;
  let end: Record<string, number> | undefined;
  const counted: Record<string, number> = {};
  const bad = (n: number, why: string) => new DumpError(`cannot import ${file}: line ${n}: ${why}`);
  for await (const { n, text } of lines(file, (bytes) => step.update(bytes))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw n === 1 ? new DumpError(`cannot import ${file}: not a ${DUMP_FORMAT} file`) : bad(n, "not JSON (the file is damaged)");
    }
    if (!header) {
      header = checkHeader(file, parsed, tables, knownSchemas);
      for (const t of header.tables) counted[t.name] = 0;
      continue;
    }
    if (end) throw bad(n, "data after the end line");
    const line = parsed as Line;
    if ("end" in line && line.end === true) {
      end = line.rows;
      continue;
    }
    const spec = header.tables.find((t) => t.name === (line as { table?: string }).table);
    if (!spec || !Array.isArray((line as { values?: unknown }).values) || (line as { values: unknown[] }).values.length !== spec.columns.length)
      throw bad(n, "not a row of a table in the header");
    counted[spec.name]!++;
  }
  step.end();
  if (!header) throw new DumpError(`cannot import ${file}: the file is empty`);
  if (!end) throw new DumpError(`cannot import ${file}: the file is cut short (no end line)`);
  for (const t of header.tables)
    if ((end[t.name] ?? 0) !== counted[t.name])
      throw new DumpError(`cannot import ${file}: ${t.name} has ${counted[t.name]} rows, the end line says ${end[t.name] ?? 0}`);
  return { header, key: Buffer.from(header.installation_key, "hex"), rows: counted };
}

function checkHeader(file: string, parsed: unknown, tables: Map<string, TableInfo>, knownSchemas: string[]): DumpHeader {
  const h = parsed as Partial<DumpHeader> | null;
  if (!h || typeof h !== "object" || h.format !== DUMP_FORMAT) throw new DumpError(`cannot import ${file}: not a ${DUMP_FORMAT} file`);
  if (h.version !== DUMP_VERSION)
    throw new DumpError(
      `cannot import ${file}: dump format version ${String(h.version)} is not the one this build reads (${DUMP_VERSION}); use the version of magistrala-clients that wrote it (${h.software?.version ?? "unknown"})`,
    );
  if (typeof h.schema !== "string" || !knownSchemas.includes(h.schema))
    throw new DumpError(
      `cannot import ${file}: it has schema ${String(h.schema)}, which this build does not know (its latest is ${knownSchemas.at(-1)}); import it with a newer version of magistrala-clients`,
    );
  if (typeof h.installation_key !== "string" || !isKeyHex(h.installation_key) || keyFingerprint(Buffer.from(h.installation_key, "hex")) !== h.key_fingerprint)
    throw new DumpError(`cannot import ${file}: the installation key in the header is damaged`);
  if (!Array.isArray(h.tables)) throw new DumpError(`cannot import ${file}: the header lists no tables`);
  for (const t of h.tables) {
    const info = tables.get(t.name);
    if (!info) throw new DumpError(`cannot import ${file}: table ${t.name} is not in this build's schema`);
    const unknown = t.columns.filter((c) => !info.columns.some((ci) => ci.name === c));
    if (unknown.length > 0) throw new DumpError(`cannot import ${file}: ${t.name} has columns this build does not know (${unknown.join(", ")})`);
  }
  return h as DumpHeader;
}

/** True when no table of the schema has a row. */
export async function isEmpty(exec: Executor, db: Database): Promise<boolean> {
  for (const t of schemaTables(db)) {
    const [row] = await exec
      .select({ one: sql`1` })
      .from(t.table as never)
      .limit(1);
    if (row) return false;
  }
  return true;
}

export interface ImportOptions {
  file: string;
  checked: CheckedDump;
  /** Add to a database that has rows (conflicting rows abort the whole import). */
  merge: boolean;
  progress?: Progress;
}

/** Bound parameters per INSERT, under every dialect's limit. */
const MAX_PARAMS = 8000;
/**
 * Rows per INSERT at most: larger statements buy no speed, only memory. On SQLite fewer rows a
 * statement also keep less in memory at once (a statement's changed pages, index and trigger pages
 * included, are journaled in memory until it ends: temp_store = MEMORY): 500 rows a statement put
 * an import of 100,000 clients at 116-119 MiB peak, 100 at 94 MiB. Postgres keeps 500 (each
 * statement is a round trip there).
 */
const MAX_ROWS_PER_INSERT = { sqlite: 100, postgres: 500 } as const;

interface RunnableInsert {
  run?(params: Record<string, unknown>): unknown;
  execute?(params: Record<string, unknown>): Promise<unknown>;
}

/**
 * Inserts rows of one table in batches. A full batch runs a statement built once with placeholders
 * (Drizzle encodes each value by its column, as for any insert); the last, smaller one is built as
 * it comes. Holds one batch at a time.
 */
function batchInserter(db: Database, tx: TxHandle, info: TableInfo, keys: string[], onRows: (n: number) => Promise<void>) {
  const exec = executorOf(tx);
  const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT[db.dialect], Math.floor(MAX_PARAMS / Math.max(1, keys.length))));
  const names = Array.from({ length: perInsert }, (_, i) => keys.map((k) => `${i}_${k}`));
  let prepared: RunnableInsert | undefined;
  const full = () => {
    if (prepared) return prepared;
    const template = names.map((row) => Object.fromEntries(keys.map((k, j) => [k, sql.placeholder(row[j]!)])));
    // Postgres prepares under a name; SQLite's statement is the connection's own.
    prepared =
      db.dialect === "postgres"
        ? (pgExecutorOf(tx)
            .insert(info.table as never)
            .values(template as never)
            .prepare(`import_${info.name}_${keys.length}`) as RunnableInsert)
        : (exec.insert(info.table as never).values(template as never) as unknown as { prepare(): RunnableInsert }).prepare();
    return prepared;
  };
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    if (rows.length === perInsert) {
      const params: Record<string, unknown> = {};
      for (let i = 0; i < rows.length; i++) for (let j = 0; j < keys.length; j++) params[names[i]![j]!] = rows[i]![keys[j]!];
      const stmt = full();
      if (stmt.run) stmt.run(params);
      else await stmt.execute!(params);
    } else await exec.insert(info.table as never).values(rows as never);
    await onRows(rows.length);
  };
  return {
    async add(row: Record<string, unknown>) {
      batch.push(row);
      if (batch.length >= perInsert) await flush();
    },
    flush,
  };
}

/**
 * Loads a checked dump in ONE transaction: all of it or nothing. Refuses a database that has rows
 * unless `merge`; on a merge, values the database generates (the outbox's seq) are given anew, in
 * the dump's order. Publishes FLUSH_ALL on the bus with the commit, so every instance's cache starts
 * over. Streams the file: memory holds one batch of rows whatever the size. Returns the rows
 * inserted per table.
 */
export async function importDump(db: Database, opts: ImportOptions): Promise<Record<string, number>> {
  const tables = new Map(schemaTables(db).map((t) => [t.name, t]));
  const { header } = opts.checked;
  const progress = opts.progress ?? silentProgress;
  return db.transact(async (tx) => {
    const exec = executorOf(tx);
    if (!opts.merge && !(await isEmpty(exec, db)))
      throw new DumpError(`cannot import ${opts.file}: the database is not empty (use --merge to add the dump's rows to what is there)`);
    // Postgres: the entity counters are counted once at the end, not row by row (src/db/postgres/bulk-load.ts).
    if (db.dialect === "postgres") await countersOff(tx);
    const inserted: Record<string, number> = Object.fromEntries(header.tables.map((t) => [t.name, 0]));
    let current:
      | { info: TableInfo; columns: { key: string; dataType: string; index: number }[]; inserter: ReturnType<typeof batchInserter>; step: ProgressStep }
      | undefined;
    const finish = async () => {
      if (!current) return;
      await current.inserter.flush();
      current.step.end();
    };
    try {
      for await (const { text } of lines(opts.file)) {
        const line = JSON.parse(text) as Line | DumpHeader;
        if (!("table" in line)) continue; // the header and the end line
        if (current?.info.name !== line.table) {
          await finish();
          const info = tables.get(line.table)!;
          const spec = header.tables.find((t) => t.name === line.table)!;
          const columns = spec.columns.flatMap((name, index) => {
            const c = info.columns.find((ci) => ci.name === name)!;
            return opts.merge && c.generated ? [] : [{ key: c.key, dataType: c.dataType, index }];
          });
          const step = progress.step(info.name, opts.checked.rows[info.name], "rows");
          const inserter = batchInserter(
            db,
            tx,
            info,
            columns.map((c) => c.key),
            async (n) => {
              inserted[info.name]! += n;
              step.update(inserted[info.name]!);
            },
          );
          current = { info, columns, inserter, step };
        }
        const row: Record<string, unknown> = {};
        for (const c of current.columns) row[c.key] = decode(c.dataType, line.values[c.index]);
        await current.inserter.add(row);
      }
      await finish();
    } catch (err) {
      const violated = uniqueViolation(err);
      if (violated !== undefined && current)
        throw new DumpError(`cannot import ${opts.file}: a row of ${current.info.name} is already in the database (${violated}); nothing was imported`);
      throw err;
    }
    if (db.dialect === "postgres") {
      await advanceSequences(tx, [...tables.values()]);
      await countersRecounted(tx);
    }
    tx.invalidate(FLUSH_ALL);
    return inserted;
  });
}

/** Postgres: explicit values do not move a serial column's sequence; move it past the largest value. */
async function advanceSequences(tx: TxHandle, tables: TableInfo[]): Promise<void> {
  const exec = pgExecutorOf(tx);
  for (const t of tables)
    for (const c of t.columns.filter((ci) => ci.generated)) {
      const table = `"${t.name.replace(/"/g, '""')}"`;
      await exec.execute(
        sql`SELECT setval(pg_get_serial_sequence(${table}, ${c.name}), coalesce(max(${sql.identifier(c.name)}), 0) + 1, false) FROM ${sql.identifier(t.name)}`,
      );
    }
}
