/**
 * Static files of the console and of the OpenAPI UI, served from memory: read once (from the
 * embedded copy inside a compiled binary, from the repository otherwise), gzipped or gunzipped
 * once as the browser needs, revalidated by ETag. Nothing here is on an API route's path.
 */

type Set = { status?: number | string; headers: Record<string, string | number> };
type Bytes = Uint8Array<ArrayBuffer>;

/** A file's content: plain, gzipped, or both (the compiled binary embeds big files gzipped). */
interface Content {
  raw?: Bytes;
  gzip?: Bytes;
}

interface StaticFile {
  /** A promise: the console's script may have to be bundled first. */
  load(): Promise<Content>;
  type: string;
}

interface Loaded extends Content {
  etag: string;
}

/**
 * What every page of the console and of /openapi may load: itself only. No CDN, no external font,
 * no request that leaves the gateway, even should a bundled script try.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Below this, gzip is not worth a header. */
const GZIP_FROM = 1024;

/** An Elysia handler answering a static file, gzip when accepted, 304 when unchanged. */
export function staticHandler(file: StaticFile) {
  let loaded: Promise<Loaded> | undefined;
  const load = () =>
    (loaded ??= file.load().then(
      (c): Loaded => ({ ...c, etag: `"${Bun.hash((c.gzip ?? c.raw)!).toString(36)}"` }),
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
    set.headers.vary = "Accept-Encoding";
    if (file.type.startsWith("text/html")) set.headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
    if (request.headers.get("if-none-match") === f.etag) {
      set.status = 304;
      return "";
    }
    set.status = 200;
    let body: Bytes;
    if (/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "") && (f.gzip || f.raw!.length >= GZIP_FROM)) {
      body = f.gzip ??= Bun.gzipSync(f.raw!);
      set.headers["content-encoding"] = "gzip";
    } else body = f.raw ??= Bun.gunzipSync(f.gzip!);
    return new Response(body, { status: 200, headers: set.headers as Record<string, string> });
  };
}

const read = async (path: string): Promise<Bytes> => new Uint8Array(await Bun.file(path).arrayBuffer());

/** A file on disk: plain, or gzipped when its name ends in .gz. */
export const fileAt = (path: string, type: string): StaticFile => ({
  type,
  load: async () => (path.endsWith(".gz") ? { gzip: await read(path) } : { raw: await read(path) }),
});

/** Text made in memory. */
export const text = (body: string, type: string): StaticFile => ({ type, load: async () => ({ raw: new TextEncoder().encode(body) }) });

/** Bytes made on demand (the console bundle). */
export const bytes = (load: () => Promise<Bytes>, type: string): StaticFile => ({ type, load: async () => ({ raw: await load() }) });
