import { invalid, Msg } from "../errors/index.ts";

const badQuery = () => invalid(Msg.queryParams);

/**
 * Reads query parameters the way the reference does: a parameter given twice is 400
 * `invalid query parameters`, numbers are unsigned decimal, booleans follow Go's ParseBool.
 */
export class QueryReader {
  private readonly params: URLSearchParams;

  constructor(url: string) {
    const q = url.indexOf("?");
    // A NUL in any value: Postgres refuses it in text, so it is refused here, on both backends.
    // (Invalid UTF-8 decodes to U+FFFD, which both store.)
    if (q >= 0 && url.includes("%00", q)) throw badQuery();
    this.params = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  }

  has(key: string): boolean {
    return this.params.has(key);
  }

  /** The value, or undefined when absent; repeated → 400. */
  str(key: string): string | undefined {
    const all = this.params.getAll(key);
    if (all.length > 1) throw badQuery();
    return all[0];
  }

  uint(key: string, def: number): number {
    const v = this.str(key);
    if (v === undefined) return def;
    if (!/^\d+$/.test(v)) throw badQuery();
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw badQuery();
    return n;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.str(key);
    if (v === undefined) return def;
    if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
    if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
    throw badQuery();
  }
}
