/**
 * What both databases store alike. Postgres refuses NUL in text and JSON, and lone UTF-16
 * surrogates in JSON (SQLite keeps both); a number JSON.parse made Infinity would be stored as
 * null. Transports refuse such input at the edge, so the answer is the same on either backend.
 */

/** Deepest nesting of arrays and objects accepted in a JSON value (request bodies, JSON query values). */
export const MAX_JSON_DEPTH = 32;

/** A string that may go to either database: no NUL, no lone surrogate. */
export const storableText = (s: string): boolean => s.isWellFormed() && !s.includes("\u0000");

/**
 * Whether a decoded value (parsed JSON, a gRPC message) can be stored as it is on both backends:
 * nesting within MAX_JSON_DEPTH, strings (keys included) storableText, finite numbers. Stops at
 * the first offence, so a hostile value costs no more than its first MAX_JSON_DEPTH levels.
 */
export function storable(v: unknown, depth = 0): boolean {
  switch (typeof v) {
    case "string":
      return storableText(v);
    case "number":
      return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(v)) {
        for (const x of v) if (!storable(x, depth + 1)) return false;
        return true;
      }
      for (const k in v) if (!storableText(k) || !storable((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return true;
  }
}
