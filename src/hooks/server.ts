import { Elysia } from "elysia";
import type { TlsFiles } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { HookRoute } from "./dialect.ts";
import { bodyFields, queryFields } from "./request.ts";

/**
 * The hooks listener: its own HTTP server (MG_CLIENTS_HOOKS_HOST/_PORT), apart from the REST API,
 * because call-outs carry device passwords and are answered in each broker's own words. Every
 * route reads its body itself, whatever the content type; anything that throws still gets an
 * answer (the route's deny) — never a 5xx, which several brokers read as "ask someone else".
 */

const MAX_BODY_BYTES = 64 * 1024;

export interface HooksServerOptions {
  host: string;
  port: number;
  tls?: TlsFiles;
  logger: Logger;
  routes: HookRoute[];
}

export interface RunningHooksServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

function createHooksApp(opts: Pick<HooksServerOptions, "routes" | "logger">) {
  const app = new Elysia({ name: "magistrala-clients-hooks", normalize: false }).get(
    "/health",
    () => new Response('{"status":"pass"}\n', { headers: { "content-type": "application/health+json" } }),
  );
  for (const route of opts.routes) {
    const failed = (err: unknown) => {
      opts.logger.error("hook failed", { path: route.path, error: err });
      return route.fault();
    };
    type Ctx = { request: Request };
    const post = route.raw
      ? ({ request }: Ctx) => route.raw!(request).catch(failed)
      : ({ request }: Ctx) =>
          request
            .text()
            .then((text) => route.handle!(bodyFields(text), request))
            .catch(failed);
    app.post(route.path, post, { parse: "none" });
    if (route.get)
      app.get(route.path, ({ request }: Ctx) => {
        try {
          return route.handle!(queryFields(request.url), request);
        } catch (err) {
          return failed(err);
        }
      });
  }
  return app;
}

export function startHooksServer(opts: HooksServerOptions): RunningHooksServer {
  const app = createHooksApp(opts);
  app.listen({
    hostname: opts.host,
    port: opts.port,
    maxRequestBodySize: MAX_BODY_BYTES,
    reusePort: false,
    ...(opts.tls ? { tls: { cert: Bun.file(opts.tls.cert), key: Bun.file(opts.tls.key) } } : {}),
  });
  const server = app.server!;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const url = `${opts.tls ? "https" : "http"}://${host}:${server.port}`;
  opts.logger.info("hooks listening", { url, tls: opts.tls ? "on" : "off" });
  return {
    url,
    port: server.port!,
    stop: () => server.stop(),
  };
}
