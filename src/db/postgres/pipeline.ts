import { PostgresJsSession, PostgresJsTransaction } from "drizzle-orm/postgres-js/session";
import type { ReservedSql, Sql } from "postgres";
import type { PgExecutor } from "../executors.ts";

/** Commits a transaction that only inserts with others committing at the same moment (src/db/postgres/group-commit.ts). */
export interface GroupCommit {
  commit(held: PipelinedStatement[], notifications: [string, string][]): Promise<void>;
}

/** A statement whose answer nobody reads: an insert of `insertRows`. */
export interface PipelinedStatement {
  text: string;
  params: readonly unknown[];
  /** Maps its failure to the error the caller means (a unique violation to a 409…). */
  onError?: (err: unknown) => unknown;
  /** The table it writes, to know whose `onError` a failure of a combined statement is. */
  table: string;
  /** Set when it may be combined with others into one statement: `rows` rows of a template built once. */
  insert?: { template: InsertTemplate; rows: number };
}

/**
 * A one-row insert as Drizzle writes it, `insert into "t" ("a", "b") values ($1, $2)`, split so
 * that any number of rows, numbered from any offset, can be written from it.
 */
export interface InsertTemplate {
  /** The table and its columns: the same template for the same set of columns. */
  shape: string;
  /** `insert into "t" ("a", "b") values ` */
  head: string;
  /** The row `($1, $2)` split around its parameters: parts[0] $1 parts[1] $2 parts[2]. */
  parts: string[];
  /** Parameters per row. */
  width: number;
}

/** The template of Drizzle's text of a one-row insert whose values are all parameters or `default`; undefined if it is not one. */
export function insertTemplate(shape: string, text: string, width: number): InsertTemplate | undefined {
  const m = /^(insert into .*? values )(\((?:\$\d+|default)(?:, (?:\$\d+|default))*\))$/s.exec(text);
  if (!m) return undefined;
  const parts = m[2]!.split(/\$\d+/);
  if (parts.length !== width + 1) return undefined;
  return { shape, head: m[1]!, parts, width };
}

/** `rows` rows of a template, their parameters numbered from `offset` + 1. */
function rowsText(t: InsertTemplate, rows: number, offset: number): string {
  let out = "";
  for (let r = 0; r < rows; r++) {
    if (r > 0) out += ", ";
    out += t.parts[0];
    for (let j = 1; j <= t.width; j++) out += `$${offset + r * t.width + j}${t.parts[j]}`;
  }
  return out;
}

const insertTexts = new Map<string, string>();

/** The text of an insert of `rows` rows of a template (built once per template and row count, unless `keep` is false). */
export function insertText(t: InsertTemplate, rows: number, keep = true): string {
  if (!keep) return t.head + rowsText(t, rows, 0);
  const key = `${t.shape}|${rows}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    text = t.head + rowsText(t, rows, 0);
    insertTexts.set(key, text);
  }
  return text;
}

/** Postgres' limit of bound parameters per statement. */
export const MAX_PARAMS = 65535;

/**
 * One Postgres write transaction's statements that nobody awaits — the inserts of `insertRows`
 * (entity, built-in role, its actions and member, the outbox rows) and the NOTIFYs — are held here
 * and sent without waiting for each answer:
 *
 * - a transaction that only does such writes (a create) goes out, at commit, as ONE statement:
 *   the inserts as data-modifying CTEs, the NOTIFYs as its SELECT, atomic on its own (no BEGIN,
 *   no COMMIT), on whichever connection of the pool is free (postgres.js pipelines statements of
 *   concurrent requests on its connections, as for any single query): one statement, no
 *   connection held for it — and the creates that commit at the same moment share that statement
 *   (src/db/postgres/group-commit.ts);
 * - when the transaction awaits a statement (a read, an update, a delete …), it reserves a
 *   connection; BEGIN and what is held are sent first, pipelined before that statement (Postgres
 *   runs them in order), so it sees their rows; at commit the rest and COMMIT are pipelined likewise.
 *
 * A statement that fails aborts the transaction as it would have; its error, mapped by its sender's
 * `onError` as if it had been thrown at once, is what the transaction throws.
 */
export class PgPipeline {
  private held: PipelinedStatement[] = [];
  private notifications: [string, string][] = [];
  private pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;
  /** The transaction's own connection, once it awaited a statement (BEGIN sent on it). */
  private reserved: ReservedSql | undefined;
  private reserving: Promise<ReservedSql> | undefined;
  private ended = false;

  constructor(
    private readonly pool: Sql,
    private readonly group: GroupCommit,
  ) {}

  /** Holds an insert (sent at the next statement the transaction awaits, or at commit). */
  add(statement: PipelinedStatement): void {
    this.held.push(statement);
  }

  /** NOTIFY `channel`, `payload` with the commit. */
  notify(channel: string, payload: string): void {
    this.notifications.push([channel, payload]);
  }

  /** A statement the transaction awaits: on its own connection, after BEGIN and whatever is held. */
  async awaited(text: string, params: unknown[] | undefined, values: boolean): Promise<unknown> {
    const client = this.reserved ?? (await this.reserve());
    this.flush();
    const q = client.unsafe(text, params as never, { prepare: true });
    return values ? q.values() : q;
  }

  private reserve(): Promise<ReservedSql> {
    this.reserving ??= this.pool.reserve().then((client) => {
      this.reserved = client;
      this.send("BEGIN", []);
      return client;
    });
    return this.reserving;
  }

  /** BEGIN was sent: whatever is held goes out now, in order. */
  private flush(): void {
    for (const s of this.held) this.send(s.text, s.params, s.onError);
    this.held = [];
  }

  /** Commits: what is held, the NOTIFYs, COMMIT (or all of it as one statement); throws the first failure. */
  async commit(): Promise<void> {
    if (!this.reserved) {
      if (this.held.length === 0 && this.notifications.length === 0) return void (this.ended = true);
      if (groupable(this.held, this.notifications)) {
        // One statement, committed with those of the other transactions that only insert at this
        // moment (group-commit.ts).
        this.ended = true;
        const held = this.held;
        this.held = [];
        this.pending.push(
          this.group.commit(held, this.notifications).catch((err: unknown) => {
            this.failure ??= { error: err };
          }),
        );
        return this.settle();
      }
      await this.reserve();
    }
    this.ended = true;
    this.flush();
    for (const [channel, payload] of this.notifications) this.send("SELECT pg_notify($1, $2)", [channel, payload]);
    this.send("COMMIT", [], undefined, (result) => {
      // COMMIT of a transaction that a failed statement aborted answers ROLLBACK, not an error.
      if (result.command === "ROLLBACK") throw new Error("the transaction was rolled back");
    });
    return this.settle();
  }

  /** After a failure: waits for what was sent, rolls back if needed; the error of a statement that failed first, if one did. */
  async abort(): Promise<{ error: unknown } | undefined> {
    await this.reserving?.catch(() => undefined);
    await Promise.all(this.pending);
    if (this.reserved && !this.ended) await this.reserved.unsafe("ROLLBACK").catch(() => undefined);
    return this.failure;
  }

  /** The end of the transaction, whatever happened: its connection back to the pool. */
  release(): void {
    this.reserved?.release();
    this.reserved = undefined;
  }

  private send(text: string, params: readonly unknown[], onError?: (err: unknown) => unknown, onResult?: (result: { command: string }) => void): void {
    // `then` at once (a postgres.js query starts when it is awaited): the statements go out in the
    // order they were sent, before any statement the transaction awaits afterwards.
    const q = (this.reserved ?? this.pool).unsafe(text, params as never[], { prepare: true });
    this.pending.push(
      q.then(
        (result) => onResult?.(result as unknown as { command: string }),
        (err: unknown) => {
          this.failure ??= { error: onError ? onError(err) : err };
        },
      ),
    );
  }

  private async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    if (this.failure) throw this.failure.error;
  }
}

/** The text of a combination of inserts, built once per sequence of templates and row counts. */
const combinedTexts = new Map<string, string>();

/** An insert of `rows` rows of `template` whose parameters are `params`, within a combined statement. */
export interface InsertPart {
  template: InsertTemplate;
  rows: number;
  params: readonly unknown[];
}

/** Whether a transaction's held inserts and NOTIFYs may be committed with others' (src/db/postgres/group-commit.ts). */
function groupable(held: PipelinedStatement[], notifications: [string, string][]): boolean {
  let count = notifications.length * 2;
  for (const s of held) {
    if (s.insert === undefined) return false;
    count += s.params.length;
  }
  return count <= MAX_PARAMS;
}

/** Inserts (one CTE each, in order) and NOTIFYs as one statement; undefined past the parameter limit. */
export function combined(parts: InsertPart[], notifications: [string, string][]): { text: string; params: unknown[] } | undefined {
  let count = notifications.length * 2;
  let key = "";
  for (const p of parts) {
    count += p.params.length;
    key += `${p.template.shape}|${p.rows};`;
  }
  if (count > MAX_PARAMS) return undefined;
  key += `#${notifications.length}`;
  let text = combinedTexts.get(key);
  if (text === undefined) {
    let offset = 0;
    const ctes = parts.map((p, i) => {
      const cte = `w${i} AS (${p.template.head}${rowsText(p.template, p.rows, offset)})`;
      offset += p.rows * p.template.width;
      return cte;
    });
    const selects = notifications.map((_, i) => `pg_notify($${offset + 2 * i + 1}, $${offset + 2 * i + 2})`);
    text = `${ctes.length > 0 ? `WITH ${ctes.join(", ")} ` : ""}SELECT ${selects.length > 0 ? selects.join(", ") : "1"}`;
    combinedTexts.set(key, text);
  }
  const params: unknown[] = [];
  for (const p of parts) for (const v of p.params) params.push(v);
  for (const [channel, payload] of notifications) params.push(channel, payload);
  return { text, params };
}

/** A combined statement failed: the `onError` of the insert into the table the error names, else the first that maps it. */
export function mapCombined(held: PipelinedStatement[], err: unknown): unknown {
  const table = (err as { table_name?: string } | null)?.table_name;
  const own = held.find((s) => s.table === table && s.onError);
  if (own) return own.onError!(err);
  for (const s of held) {
    const mapped = s.onError?.(err);
    if (mapped !== undefined && mapped !== err) return mapped;
  }
  return err;
}

const pipelines = new WeakMap<object, PgPipeline>();

/** The pipeline of the transaction `exec` belongs to (undefined for the pool or a SQLite executor). */
export function pipelineOf(exec: object): PgPipeline | undefined {
  return pipelines.get(exec);
}

interface DrizzleInternals {
  session: { dialect: unknown; schema: unknown; options: unknown };
}

/**
 * A Drizzle transaction, built as Drizzle's own `transaction` builds one, over its pipeline: every
 * statement Drizzle sends on it (prepared, as on the pool: src/db/postgres/prepared-statements.ts)
 * goes through `PgPipeline.awaited`, on the transaction's own connection once it has one.
 */
export function pipelinedTransaction(pool: PgExecutor, sql: Sql, group: GroupCommit): { exec: PgExecutor; pipeline: PgPipeline } {
  const pipeline = new PgPipeline(sql, group);
  // All Drizzle's session asks of its client: unsafe(text, params, options), awaited, maybe .values().
  const client = {
    unsafe(text: string, params?: unknown[]) {
      let values = false;
      let started: Promise<unknown> | undefined;
      const query = {
        values() {
          values = true;
          return query;
        },
        // biome-ignore lint/suspicious/noThenProperty: a lazy query, as postgres.js' own are thenables
        then(ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) {
          started ??= pipeline.awaited(text, params, values);
          return started.then(ok, fail);
        },
      };
      return query;
    },
  } as unknown as Sql;
  const { dialect, schema, options } = (pool as unknown as DrizzleInternals).session;
  const session = new PostgresJsSession(client, dialect as never, schema as never, options as never);
  const exec = new PostgresJsTransaction(dialect as never, session as never, schema as never) as unknown as PgExecutor;
  pipelines.set(exec, pipeline);
  return { exec, pipeline };
}
