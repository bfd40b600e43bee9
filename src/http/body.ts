import { MAX_JSON_DEPTH, storable } from "../domain/text.ts";
import { AppError, Msg } from "../errors/index.ts";

const malformed = () => new AppError("MALFORMED", Msg.malformedBody);

/**
 * The request's body limit (MG_CLIENTS_HTTP_MAX_BODY), set on each request by the HTTP app
 * (src/http/server.ts), which also refuses a too large Content-Length before any route runs.
 */
export const BODY_LIMIT = Symbol("body-limit");
type LimitedRequest = Request & { [BODY_LIMIT]?: number };

const tooLarge = () => new AppError("TOO_LARGE", Msg.bodyTooLarge);

/**
 * Body parsing as the reference does it: Content-Type must contain application/json (415), the
 * body must hold a JSON value (400); only the first JSON value counts, trailing bytes are ignored.
 * Past the reference: the body is read up to the limit only (413, the rest is never buffered), and
 * a value nested deeper than MAX_JSON_DEPTH, a string with NUL or a lone surrogate (Postgres
 * refuses both in text and JSON) or a number out of range (JSON.parse makes it Infinity, stored
 * as null) is a 400 — alike on both backends, before any validation.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type");
  if (type === null || !type.includes("application/json")) throw new AppError("UNSUPPORTED_MEDIA_TYPE", Msg.unsupportedContentType);
  // A Content-Length above the limit was refused before any route ran; without one (chunked) the
  // stream is read up to the limit only.
  const limit = (request as LimitedRequest)[BODY_LIMIT];
  const text = limit === undefined || request.headers.has("content-length") ? await request.text() : await readLimited(request, limit);
  const value = firstJsonValue(text);
  if (mayHoldUnstorable(text) && !storable(value, 0)) throw malformed();
  return value;
}

/** An exponent of three digits or a run of 309 digits: the only ways to write a number JSON.parse makes Infinity. */
const HUGE_NUMBER = /\d[eE][+-]?\d{3}|\d{309}/;

/**
 * Whether the parsed value must be walked by storable(): text decoded from UTF-8 holds no lone
 * surrogate and valid JSON no raw NUL, so only a `\u` escape or a huge number can make one (nesting
 * was checked on the text). Spares the walk to nearly every request.
 */
function mayHoldUnstorable(text: string): boolean {
  return text.includes("\\u") || HUGE_NUMBER.test(text);
}

/** The body as text, reading at most `limit` bytes: past it, the stream is cancelled and 413 thrown. */
async function readLimited(request: Request, limit: number): Promise<string> {
  const body = request.body;
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/**
 * Whether the arrays and objects of a JSON text nest at most `max` deep, by one scan of the text
 * (strings skipped), stopping at the first level too deep: JSON.parse alone would first build the
 * whole structure (a 1 MiB `[[[…]]]` takes it 0.2 s). A text this short cannot be that deep.
 */
export function nestingWithin(text: string, max: number): boolean {
  if (text.length <= 2 * max) return true;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return false;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return true;
}

export function firstJsonValue(text: string): unknown {
  if (!nestingWithin(text, MAX_JSON_DEPTH)) throw malformed();
  try {
    return JSON.parse(text);
  } catch {
    // Fall through: maybe a valid value followed by other bytes.
  }
  const end = endOfFirstValue(text);
  if (end === undefined) throw malformed();
  try {
    return JSON.parse(text.slice(0, end));
  } catch {
    throw malformed();
  }
}

const PRIMITIVE = /^\s*(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/;

/** Index just past the first complete JSON value, by bracket and string scanning. */
function endOfFirstValue(text: string): number | undefined {
  let i = 0;
  while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  const first = text[i];
  if (first === undefined) return undefined;
  if (first !== "{" && first !== "[" && first !== '"') {
    const m = PRIMITIVE.exec(text);
    return m ? m[0].length : undefined;
  }
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") {
      // Deeper than storable() accepts: no need to find where it ends.
      if (++depth > MAX_JSON_DEPTH) return undefined;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}
