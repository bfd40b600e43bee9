import { AppError, Msg } from "../errors/index.ts";

const malformed = () => new AppError("MALFORMED", Msg.malformedBody);

/**
 * Body parsing as the reference does it: Content-Type must contain application/json (415), the
 * body must hold a JSON value (400); only the first JSON value counts, trailing bytes are ignored.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type");
  if (type === null || !type.includes("application/json")) throw new AppError("UNSUPPORTED_MEDIA_TYPE", Msg.unsupportedContentType);
  return firstJsonValue(await request.text());
}

export function firstJsonValue(text: string): unknown {
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
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}
