import { type AnyColumn, and, type SQL, sql } from "drizzle-orm";
import type { Dialect } from "../database.ts";

/**
 * The few SQL fragments whose spelling differs between SQLite and Postgres. Repositories build
 * every other condition with Drizzle's dialect-neutral operators.
 */

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `column` (a JSON document) contains `query`, with Postgres `@>` semantics on both dialects. */
export function jsonContains(dialect: Dialect, column: AnyColumn, query: Record<string, unknown>): SQL {
  if (dialect === "postgres") return sql`${column} @> ${JSON.stringify(query)}::jsonb`;
  let alias = 0;
  // SQLite: walk the query; objects match key by key, arrays element by element (each query
  // element must be contained in some element of the stored array), scalars by type and value.
  const scalar = (type: SQL, value: SQL, q: unknown): SQL => {
    if (q === null) return sql`${type} = 'null'`;
    if (q === true) return sql`${type} = 'true'`;
    if (q === false) return sql`${type} = 'false'`;
    if (typeof q === "number") return sql`(${type} IN ('integer', 'real') AND ${value} = ${q})`;
    return sql`(${type} = 'text' AND ${value} = ${String(q)})`;
  };
  const within = (doc: SQL, q: unknown): SQL => {
    if (isPlainObject(q)) {
      const parts: SQL[] = [sql`json_type(${doc}) = 'object'`];
      for (const [key, value] of Object.entries(q)) {
        const a = sql.raw(`je${alias++}`);
        parts.push(sql`EXISTS (SELECT 1 FROM json_each(${doc}) AS ${a} WHERE ${a}.key = ${key} AND ${element(a, value)})`);
      }
      return and(...parts)!;
    }
    if (Array.isArray(q)) {
      const parts: SQL[] = [sql`json_type(${doc}) = 'array'`];
      for (const value of q) {
        const a = sql.raw(`je${alias++}`);
        parts.push(sql`EXISTS (SELECT 1 FROM json_each(${doc}) AS ${a} WHERE ${element(a, value)})`);
      }
      return and(...parts)!;
    }
    return scalar(sql`json_type(${doc})`, sql`json_extract(${doc}, '$')`, q);
  };
  const element = (a: SQL, q: unknown): SQL =>
    isPlainObject(q) || Array.isArray(q)
      ? sql`(${a}.type IN ('object', 'array') AND ${within(sql`${a}.value`, q)})`
      : scalar(sql`${a}.type`, sql`${a}.atom`, q);
  return within(sql`${column}`, query);
}

/** `column` (a JSON array of strings) holds at least one of / all of `values`. */
export function jsonArrayHas(dialect: Dialect, column: AnyColumn, op: "any" | "all", values: string[]): SQL {
  if (dialect === "postgres") {
    const arr = sql`ARRAY[${sql.join(
      values.map((v) => sql`${v}`),
      sql`, `,
    )}]::text[]`;
    // The operators, not the jsonb_exists_* functions: only the operators can use the GIN index.
    return op === "any" ? sql`${column} ?| ${arr}` : sql`${column} ?& ${arr}`;
  }
  if (op === "any") {
    return sql`EXISTS (SELECT 1 FROM json_each(${column}) WHERE value IN (${sql.join(
      values.map((v) => sql`${v}`),
      sql`, `,
    )}))`;
  }
  return and(...values.map((v) => sql`EXISTS (SELECT 1 FROM json_each(${column}) WHERE value = ${v})`))!;
}

/** Case-insensitive substring match (ASCII case folding on SQLite). */
export function containsText(column: AnyColumn, needle: string): SQL {
  const escaped = needle.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql`lower(${column}) LIKE ${`%${escaped}%`} ESCAPE '\\'`;
}

/**
 * A select inside a write transaction whose rows stay locked until commit on Postgres (`FOR
 * UPDATE`: this transaction will change them; `FOR SHARE`: it only needs them to stay as they
 * are), so that a check made on them and the write that follows are one step: a conflicting
 * write waits, then sees the result. Under READ COMMITTED a locked re-read returns the newest
 * version (or nothing when the row went). SQLite has one writer at a time: nothing to add.
 */
export function lockingRows<Q>(dialect: Dialect, query: Q, strength: "update" | "share"): Q {
  return dialect === "postgres" ? (query as unknown as { for(strength: "update" | "share"): Q }).for(strength) : query;
}
