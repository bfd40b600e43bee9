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

export async function readFields(request: Request): Promise<Fields | undefined> {
  if (request.method === "GET" || request.method === "HEAD") {
    const q = request.url.indexOf("?");
    return q < 0 ? {} : formFields(request.url.slice(q + 1));
  }
  const text = await request.text();
  const type = request.headers.get("content-type") ?? "";
  if (type.includes("json") || (!type.includes("form") && text.trimStart().startsWith("{"))) {
    try {
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Fields) : undefined;
    } catch {
      return undefined;
    }
  }
  return formFields(text);
}

/** A field as text: strings as they are, numbers and booleans written out (form and JSON alike). */
export function text(fields: Fields, name: string): string | undefined {
  const v = fields[name];
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

/** Checks `Authorization: Bearer <token>` in constant time; no token configured → always true. */
export function bearerCheck(token: string | undefined): (headers: Headers) => boolean {
  if (token === undefined) return () => true;
  const want = createHash("sha256").update(`Bearer ${token}`).digest();
  return (headers) => {
    const got = headers.get("authorization");
    return got !== null && timingSafeEqual(createHash("sha256").update(got).digest(), want);
  };
}
