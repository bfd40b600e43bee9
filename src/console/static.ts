/**
 * Static files of the console and of the OpenAPI UI, served from memory: read once (from the
 * embedded copy inside a compiled binary, from the repository otherwise), gzipped once for the
 * browsers that accept it, revalidated by ETag. Nothing here is on an API route's path.
 */

type Set = { status?: number | string; headers: Record<string, string | number> };

interface StaticFile {
  /** The bytes (a promise: the console's script may have to be bundled first). */
  load(): Promise<Uint8Array<ArrayBuffer>>;
  type: string;
}

interface Loaded {
  raw: Uint8Array<ArrayBuffer>;
  gzip?: Uint8Array<ArrayBuffer>;
  etag: string;
}

/**
 * What every page of the console and of /openapi may load: itself only. No CDN, no external font,
 * no request that leaves the gateway, even should a bundled script try.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** An Elysia handler answering a static file, gzip when accepted, 304 when unchanged. */
export function staticHandler(file: StaticFile) {
  let loaded: Promise<Loaded> | undefined;
  const load = () =>
    (loaded ??= file.load().then(
      (raw): Loaded => ({ raw, etag: `"${Bun.hash(raw).toString(36)}"` }),
      (err) => {
        loaded = undefined; // a failed bundle is tried again on the next request
        throw err;
      },
    ));
  return async ({ request, set }: { request: Request; set: Set }) => {
    const f = await load();
    set.headers["content-type"] = file.type;
    set.headers["cache-control"] = "no-cache";
    set.headers.etag = f.etag;
    set.headers["x-content-type-options"] = "nosniff";
    if (file.type.startsWith("text/html")) set.headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
    if (request.headers.get("if-none-match") === f.etag) {
      set.status = 304;
      return "";
    }
    set.status = 200;
    if (f.raw.length > 1024 && /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) {
      f.gzip ??= Bun.gzipSync(f.raw);
      set.headers["content-encoding"] = "gzip";
      set.headers.vary = "Accept-Encoding";
      return new Response(f.gzip, { status: 200, headers: set.headers as Record<string, string> });
    }
    return new Response(f.raw, { status: 200, headers: set.headers as Record<string, string> });
  };
}

/** A file on disk (or embedded in the binary: the path of a `with { type: "file" }` import). */
export const fileAt = (path: string, type: string): StaticFile => ({ type, load: async () => new Uint8Array(await Bun.file(path).arrayBuffer()) });

/** Text made in memory. */
export const text = (body: string, type: string): StaticFile => ({ type, load: async () => new TextEncoder().encode(body) });
