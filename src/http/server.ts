import { type AnyElysia, Elysia, type ValidationError } from "elysia";
import type { Authenticator, Session } from "../auth/standalone.ts";
import type { RequestContext } from "../domain/context.ts";
import { AppError, type ErrorCode, Msg } from "../errors/index.ts";
import type { MaybePromise } from "../lib/maybe-promise.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { BODY_LIMIT } from "./body.ts";
import { documentWriteErrors, openapiDocument, operation } from "./openapi.ts";
import { ELYSIA_OPTIONS } from "./schema.ts";

/** The one mapping of error codes to HTTP status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  MALFORMED: 400,
  INVALID: 400,
  CONFLICT: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  INTERNAL: 500,
  STORAGE_FULL: 503,
};

const JSON_TYPE = "application/json";
const STATE = Symbol("request-state");

interface RequestState {
  t0: number;
  method: string;
  requestId: string;
  path: string;
  session?: Session;
}

/** Per-request state rides on the Request object, so handlers need not take Elysia's whole context
 * (which would switch off Elysia's static analysis and make it parse cookies, query, … for every call). */
interface StatefulRequest extends Request {
  [STATE]?: RequestState;
}

type Set = { status?: number | string; headers: Record<string, string | number> };

/** A JSON response body the way every route answers: JSON plus a trailing newline. */
export const jsonBodyText = (body: unknown): string => `${JSON.stringify(body)}\n`;

/** Sets the status and serialises the body (jsonBodyText). */
export function reply(set: Set, status: number, body: unknown): string {
  set.status = status;
  return jsonBodyText(body);
}

/** An empty-bodied answer (201 connect, 200 set-parent, 204 deletes); Content-Type stays JSON. */
export function replyEmpty(set: Set, status: number): string {
  set.status = status;
  return "";
}

/** The authenticated caller and request id of a route under /{domainID}/clients|channels. */
export function requestContext(request: Request): RequestContext {
  const state = (request as StatefulRequest)[STATE];
  if (!state?.session) throw new AppError("UNAUTHENTICATED", Msg.missingToken);
  const s = state.session;
  return { userId: s.userId, domainId: s.domainId, superAdmin: s.superAdmin, tokenType: s.tokenType, requestId: state.requestId };
}

/** Paths under which authentication runs before routing (so an unknown path there is 401 first). */
const AUTHENTICATED = /^\/([^/?]+)\/(?:clients|channels)(?:[/?]|$)/;

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

function decodeSegment(s: string): string {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface HttpAppDeps {
  auth: Authenticator;
  logger: Logger;
  metrics: Metrics;
  /** The /health body (status, version, …), computed per call. */
  health: () => Record<string, unknown>;
  version: string;
  /** MG_CLIENTS_HTTP_MAX_BODY: a larger body is 413 before it is read (src/http/body.ts reads at most this). */
  maxBodyBytes: number;
}

/**
 * A GET of one entity answered by Bun's router directly (issue #14: the hot path), beside the
 * Elysia route of the same path, which documents it and answers whatever the fast view leaves to
 * it (a query string). Both give the same answer: `render` is what the Elysia route returns too.
 */
export interface FastView {
  /** The Elysia route's path, e.g. `/:domainID/clients/:clientID`. */
  path: string;
  /** The 200 body (JSON and its newline): synchronous on SQLite; throws (or rejects) AppError. */
  render(ctx: RequestContext, id: string): MaybePromise<string>;
}

interface RouteMatcher {
  method: string;
  pattern: RegExp;
  path: string;
}

function compileRoutes(routes: { method: string; path: string }[]): RouteMatcher[] {
  return routes.map((r) => ({
    method: r.method,
    path: r.path,
    pattern: new RegExp(
      "^" +
        r.path
          .replace(/\/$/, "")
          .split("/")
          .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
          .join("/") +
        "/?$",
    ),
  }));
}

/**
 * The Elysia application with the cross-cutting behaviour every route shares: request ids,
 * authentication before anything else (contract §0.2), error mapping, one log line and metrics
 * per request. Capabilities add their routes as Elysia plugins.
 */
export function createHttpApp(deps: HttpAppDeps, plugins: AnyElysia[], fastViews: FastView[] = []) {
  const { auth, logger, metrics } = deps;
  let table: RouteMatcher[] = [];

  const routeOf = (path: string) => table.find((r) => r.pattern.test(path))?.path;
  const logRequests = logger.enabled("info"); // a logger's level is fixed when it is made
  const quotedRoutes = new Map<string, string>();
  /** A route template as a JSON string, serialised once per route. */
  const quoted = (route: string) => {
    let q = quotedRoutes.get(route);
    if (q === undefined) {
      q = JSON.stringify(route);
      if (quotedRoutes.size < 1000) quotedRoutes.set(route, q);
    }
    return q;
  };

  /** One log line and the metrics of a request, once its status is known. */
  function record(request: Request, set: Set, matched: string | undefined): void {
    const state = (request as StatefulRequest)[STATE];
    if (!state) return;
    const seconds = (performance.now() - state.t0) / 1000;
    const route = matched || routeOf(state.path) || "unmatched";
    const status = String(set.status ?? 200);
    const method = state.method;
    metrics.http.observe(method, route, status, seconds);
    // The fields of logger.info("http request", {method, route, path, status, duration_ms,
    // request_id}), serialised by hand: method, status and the uuid need no escaping.
    const code = Number(status); // (NaN, which JSON writes as null, for a status that is not a number)
    if (logRequests)
      logger.infoMembers(
        "http request",
        `"method":"${method}","route":${quoted(route)},"path":${JSON.stringify(state.path)},"status":${Number.isNaN(code) ? null : code},"duration_ms":${Math.round(seconds * 1e6) / 1000},"request_id":"${state.requestId}"`,
      );
  }
  const pathKnown = (path: string) => table.some((r) => r.pattern.test(path));

  /**
   * What every request goes through before its route (onRequest of the Elysia app, and first in a
   * fast view): request id, default headers, the body limit, HEAD, authentication (contract §0.2),
   * NUL ids. Returns the body of an early answer (already recorded), or undefined to go on.
   */
  function begin(request: Request, set: Set, path = pathOf(request.url), domain?: string): string | undefined {
    const method = request.method;
    const state: RequestState = { t0: performance.now(), method, requestId: crypto.randomUUID(), path };
    (request as StatefulRequest)[STATE] = state;
    set.headers["x-request-id"] = state.requestId;
    set.headers["content-type"] = JSON_TYPE;
    if (method !== "GET") {
      // Refused before anything reads it; a chunked body is cut off by readJsonBody instead.
      if (Number(request.headers.get("content-length")) > deps.maxBodyBytes) {
        const body = reply(set, 413, { message: Msg.bodyTooLarge });
        record(request, set, undefined);
        return body;
      }
      (request as StatefulRequest & { [BODY_LIMIT]?: number })[BODY_LIMIT] = deps.maxBodyBytes;
    }
    if (method === "HEAD") {
      // Only GET is routed; Bun would otherwise answer HEAD for every GET route.
      let body = replyEmpty(set, 405);
      if (!pathKnown(path)) {
        set.status = 404;
        set.headers["content-type"] = "text/plain; charset=utf-8";
        body = "404 page not found\n";
      }
      record(request, set, undefined);
      return body;
    }
    // (A fast view knows its domain segment: Bun matched the route, and the URL has no escape.)
    if (domain === undefined) {
      const scoped = AUTHENTICATED.exec(path);
      if (scoped) domain = decodeSegment(scoped[1]!);
    }
    if (domain !== undefined) {
      try {
        state.session = auth.authenticate(request.headers.get("authorization"), domain);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const body = reply(set, HTTP_STATUS[err.code], { message: err.message });
        record(request, set, undefined);
        return body;
      }
      // A NUL in an id or the domain: Postgres refuses it in text, so it is refused here, on both backends.
      if (path.includes("%00")) {
        const body = reply(set, 400, { message: Msg.invalidId });
        record(request, set, undefined);
        return body;
      }
    }
    return undefined;
  }

  /** The body of an error a route threw (AppError: its status; anything else: logged, 500). */
  function failure(set: Set, err: unknown): string {
    if (err instanceof AppError) return reply(set, HTTP_STATUS[err.code], { message: err.message });
    const requestId = (set.headers["x-request-id"] as string | undefined) ?? "";
    logger.error("unhandled error", { request_id: requestId, error: err });
    return reply(set, 500, { message: Msg.internal });
  }

  const respond = (body: string, set: Set) => new Response(body, { status: Number(set.status ?? 200), headers: set.headers as Record<string, string> });

  /**
   * A fast view as a handler of Bun's own router: the same steps as the Elysia route it stands
   * for (begin, the view, the error mapping, record), without Elysia's per-request context, and
   * without a promise where the view answers at once (SQLite). A query string or a percent-escape
   * goes to Elysia (Bun's router decodes its parameters its own way; ids are rarely escaped).
   */
  function nativeView(v: FastView) {
    return (request: Request): Response | Promise<Response> => {
      const url = request.url;
      if (url.includes("?") || url.includes("%")) return app.fetch(request);
      const path = pathOf(url);
      const set: Set = { headers: {} };
      const early = begin(request, set, path, path.slice(1, path.indexOf("/", 1)) || undefined);
      if (early !== undefined) return respond(early, set);
      const done = (body: string) => {
        record(request, set, v.path);
        return respond(body, set);
      };
      try {
        // Bun matched `/:domainID/<kind>/:id` without a trailing slash: the id is the last segment.
        const body = v.render(requestContext(request), path.slice(path.lastIndexOf("/") + 1));
        set.status = 200;
        if (body instanceof Promise) return body.then(done, (err: unknown) => done(failure(set, err)));
        return done(body);
      } catch (err) {
        return done(failure(set, err));
      }
    };
  }
  const nativeRoutes: Record<string, { GET: ReturnType<typeof nativeView> }> = {};
  for (const v of fastViews) nativeRoutes[v.path] = { GET: nativeView(v) };

  const app = new Elysia({ ...ELYSIA_OPTIONS, name: "magistrala-clients", serve: { routes: nativeRoutes } as never })
    .use(openapiDocument(deps.version))
    .onRequest(({ request, set }) => begin(request, set))
    .onError(({ code, error, set, request }) => {
      set.headers["content-type"] = JSON_TYPE;
      // Checked first: Elysia takes an error's `code` property as its own, and ours says NOT_FOUND too.
      if (error instanceof AppError) return reply(set, HTTP_STATUS[error.code], { message: error.message });
      if (code === "NOT_FOUND") {
        // A finished Response: with a mapResponse hook installed, Elysia drops a string body here.
        const known = pathKnown(pathOf(request.url));
        set.status = known ? 405 : 404;
        if (!known) set.headers["content-type"] = "text/plain; charset=utf-8";
        record(request, set, undefined); // a Response returned here skips mapResponse
        return new Response(known ? "" : "404 page not found\n", { status: set.status, headers: set.headers as Record<string, string> });
      }
      let err: unknown = error;
      if (code === "PARSE") err = (error as Error).cause ?? error;
      if (err instanceof AppError) return reply(set, HTTP_STATUS[err.code], { message: err.message });
      if (code === "PARSE") return reply(set, 400, { message: Msg.malformedBody });
      if (code === "VALIDATION") {
        const on = (error as ValidationError).type;
        return reply(set, 400, { message: on === "query" || on === "params" ? Msg.queryParams : Msg.malformedBody });
      }
      return failure(set, err);
    })
    // mapResponse runs once per routed request — success, error or not found — right before the
    // response is built; far cheaper than onAfterResponse. Early answers of onRequest record themselves.
    .mapResponse(({ request, set, route }) => {
      record(request, set, route);
    })
    .get(
      "/health",
      ({ set }) => {
        set.headers["content-type"] = "application/health+json";
        return reply(set, 200, deps.health());
      },
      {
        detail: operation("operations", {
          id: "health",
          summary: "Service health",
          public: true,
          ok: { status: 200, description: "Always pass while the process serves (the event broker's state is reported, not judged).", schema: "Health" },
        }),
      },
    )
    .get(
      "/metrics",
      async ({ set }) => {
        set.headers["content-type"] = metrics.contentType;
        return metrics.render();
      },
      {
        detail: operation("operations", {
          id: "metrics",
          summary: "Prometheus metrics",
          public: true,
          ok: { status: 200, description: "The Prometheus text exposition format.", contentType: "text/plain; version=0.0.4" },
        }),
      },
    );

  for (const plugin of plugins) app.use(plugin);
  documentWriteErrors(app.routes as Parameters<typeof documentWriteErrors>[0]);
  table = compileRoutes(app.routes.filter((r) => r.method !== "HEAD"));
  return app;
}
