import { createHash, timingSafeEqual } from "node:crypto";

/**
 * What a broker sent, whatever the encoding it was configured with: a JSON object, form fields
 * (`application/x-www-form-urlencoded`) or, for GET, the query string (contract hooks.md §1–§4).
 * `undefined` when the body is none of those: the caller answers its dialect's deny.
 */
export type Fields = Record<string, unknown>;

function formFields(text: string): Fields {
  const out: Fields = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

/** The fields of a GET call-out: its query string. */
export function queryFields(url: string): Fields {
  const q = url.indexOf("?");
  return q < 0 ? {} : formFields(url.slice(q + 1));
}

/**
 * The fields of a POST body, told apart by their first character rather than the Content-Type
 * header (reading headers costs more than the whole check on a cache hit): a JSON object starts
 * with `{`, form fields never do. Anything else JSON-looking (an array, a string) is refused.
 */
export function bodyFields(text: string): Fields | undefined {
  const first = text.trimStart()[0];
  if (first === "{" || first === "[" || first === '"') {
    try {
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Fields) : undefined;
    } catch {
      return undefined;
    }
  }
  if (text === "null") return undefined;
  return formFields(text);
}

/** A field as text: strings as they are, numbers and booleans written out (form and JSON alike). */
export function text(fields: Fields, name: string): string | undefined {
  const v = fields[name];
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

/**
 * Checks the hooks token in constant time: `Authorization: Bearer <token>`, or HTTP Basic with the
 * token as the password (what a client that cannot set headers sends for the credentials of its
 * endpoint URL, as VerneMQ's hackney does for `http://hooks:<token>@host/vernemq`). No token
 * configured → always true.
 */
export function bearerCheck(token: string | undefined): (from: Request | Headers) => boolean {
  if (token === undefined) return () => true;
  const sha = (s: string) => createHash("sha256").update(s).digest();
  const want = sha(token);
  return (from) => {
    const got = (from instanceof Request ? from.headers : from).get("authorization");
    if (got === null) return false;
    let presented: string | undefined;
    if (got.startsWith("Bearer ")) presented = got.slice(7);
    else if (got.startsWith("Basic ")) {
      const decoded = Buffer.from(got.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      presented = colon < 0 ? undefined : decoded.slice(colon + 1);
    }
    return presented !== undefined && timingSafeEqual(sha(presented), want);
  };
}
