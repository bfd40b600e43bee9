import { writeSync } from "node:fs";
import type { LogLevel } from "../config/config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export type LogSink = (line: string) => void;

/**
 * Lines are gathered and written once per event-loop turn: under load one write(2) carries many
 * request lines instead of one each. `flushLogs()` writes what is pending (used before exit).
 */
let pending = "";
let scheduled = false;
export function flushLogs(): void {
  scheduled = false;
  if (pending === "") return;
  const out = pending;
  pending = "";
  // Synchronous, so nothing is lost at exit and lines never reorder.
  writeSync(1, out);
}
const stdoutSink: LogSink = (line) => {
  pending += line;
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
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    // Written by hand around one JSON.stringify of the fields: this runs once per request.
    let line = `{"time":"${isoNow()}","level":"${lvl}","msg":${JSON.stringify(msg)}`;
    if (fields) {
      const body = JSON.stringify(fields.error instanceof Error ? { ...fields, ...errorFields(fields) } : fields);
      if (body.length > 2) line += `,${body.slice(1, -1)}`;
    }
    sink(`${line}}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    enabled: (lvl) => RANK[lvl] >= min,
  };
}

let lastMs = 0;
let lastIso = "";
/** The current time in ISO 8601, formatted once per millisecond. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** Error objects do not survive JSON.stringify; keep their message and stack. */
function errorFields(fields?: LogFields): LogFields | undefined {
  const err = fields?.error;
  if (!(err instanceof Error)) return undefined;
  return { error: err.message, stack: err.stack };
}

export const silentLogger: Logger = createLogger("error", () => {});
