import { writeSync } from "node:fs";
import type { LogLevel } from "../config/config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /**
   * An info line whose fields the caller serialised already: `members` is the inside of a JSON
   * object (`"a":1,"b":"x"`). For the one line per HTTP request, built without an object per call.
   */
  infoMembers(msg: string, members: string): void;
  enabled(level: LogLevel): boolean;
}

export type LogSink = (line: string) => void;

/**
 * Lines are gathered and written once per event-loop turn: under load one write(2) carries many
 * request lines instead of one each. They are encoded as they come into one reused buffer
 * (64 KiB; a fuller buffer is written at once), so a turn's lines cost no string concatenation and
 * no second copy. (Room is checked first: `write` would cut a line that does not fit.) `flushLogs()` writes what is pending (used before exit).
 */
const BUFFER_BYTES = 64 * 1024;
const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
let used = 0;
let scheduled = false;
function writeBuffered(): void {
  if (used === 0) return;
  const n = used;
  used = 0;
  // Synchronous, so nothing is lost at exit and lines never reorder; a short write goes on.
  for (let at = 0; at < n; ) at += writeSync(1, buffer, at, n - at);
}
function flushLogs(): void {
  scheduled = false;
  writeBuffered();
}
const stdoutSink: LogSink = (line) => {
  // A UTF-8 line is at most three bytes per UTF-16 unit.
  if (used + line.length * 3 > BUFFER_BYTES) {
    writeBuffered();
    if (line.length * 3 > BUFFER_BYTES) {
      writeSync(1, line);
      return;
    }
  }
  used += buffer.write(line, used); // at an offset, without a view of the rest per line
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushLogs);
  }
};
process.once("exit", flushLogs);

/**
 * One JSON object per line. Callers pass ids, routes and counts — never request bodies, secrets
 * or tokens; there is deliberately no "log the request" helper that could leak them.
 */
export function createLogger(level: LogLevel, sink: LogSink = stdoutSink): Logger {
  const min = RANK[level];
  // The text up to the members, kept for the millisecond: under load one per request, the same.
  let prefixMs = Number.NaN;
  let prefixLevel = "";
  let prefixMsg = "";
  let prefix = "";
  /** One line: time, level and message, then `members` (the inside of a JSON object), if any. */
  const line = (lvl: LogLevel, msg: string, members: string) => {
    const ms = Date.now();
    if (ms !== prefixMs || lvl !== prefixLevel || msg !== prefixMsg) {
      prefixMs = ms;
      prefixLevel = lvl;
      prefixMsg = msg;
      prefix = `{"time":"${isoAt(ms)}","level":"${lvl}","msg":${JSON.stringify(msg)}`;
    }
    sink(`${prefix}${members ? `,${members}` : ""}}\n`);
  };
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    // Written by hand around one JSON.stringify of the fields: this runs once per request.
    const body = fields ? JSON.stringify(fields.error instanceof Error ? { ...fields, ...errorFields(fields) } : fields) : "{}";
    line(lvl, msg, body.slice(1, -1));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    infoMembers: (m, members) => {
      if (RANK.info >= min) line("info", m, members);
    },
    enabled: (lvl) => RANK[lvl] >= min,
  };
}

let lastMs = 0;
let lastIso = "";
/** `ms` in ISO 8601, kept for the next call of the same millisecond. */
function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * Error objects do not survive JSON.stringify; keep their message and stack. A failed database
 * statement is the exception: its message carries the statement's parameters (Drizzle's "Failed
 * query: … params: …"), and the database's own text may quote a value (Postgres's `detail`,
 * "invalid input syntax for type …: "…""), so secret hashes, names, identities and metadata would
 * reach the log. Of those only the error code, the constraint and a statement name are kept.
 */
function errorFields(fields?: LogFields): LogFields | undefined {
  const err = fields?.error;
  if (!(err instanceof Error)) return undefined;
  const db = databaseError(err);
  if (db) return { error: "database statement failed", ...db, stack: framesOf(err) };
  return { error: err.message, stack: err.stack };
}

interface DbErrorFields {
  code?: string;
  statement?: string;
  constraint?: string;
}

/** The code, statement name and constraint of a failed database statement, or undefined when `err` is not one. */
function databaseError(err: Error): DbErrorFields | undefined {
  let query: string | undefined;
  let isDb = false;
  const out: DbErrorFields = {};
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const x = e as Error & { query?: unknown; code?: unknown; constraint_name?: unknown; severity?: unknown };
    if (typeof x.query === "string") {
      query ??= x.query;
      isDb = true;
    }
    if (x.name === "PostgresError" || x.name === "SQLiteError" || typeof x.severity === "string") isDb = true;
    if (out.code === undefined && (typeof x.code === "string" || typeof x.code === "number") && isDb) out.code = String(x.code);
    if (out.constraint === undefined && typeof x.constraint_name === "string") out.constraint = x.constraint_name;
  }
  if (!isDb) return undefined;
  if (query !== undefined) out.statement = statementName(query);
  return out;
}

/** `insert clients`, `select client_roles`, …: the verb and the first table of a statement, no values. */
export function statementName(query: string): string {
  const verb = /^\s*(select|insert|update|delete|with|begin|commit|rollback|savepoint|release)\b/i.exec(query)?.[1]?.toLowerCase() ?? "statement";
  const table = /\b(?:from|into|update)\s+"?([A-Za-z_][\w]*)"?/i.exec(query)?.[1];
  return table ? `${verb} ${table}` : verb;
}

/** A stack without its message (which may span lines): the frames only. */
const framesOf = (err: Error) =>
  err.stack
    ?.split("\n")
    .filter((l) => /^\s+at /.test(l))
    .join("\n");

export const silentLogger: Logger = createLogger("error", () => {});
