import type { AnyElysia } from "elysia";
import { channelsGrpc } from "../channels/grpc.ts";
import { channelsRoutes, channelView } from "../channels/http.ts";
import { clientsGrpc } from "../clients/grpc.ts";
import { clientsRoutes, clientView } from "../clients/http.ts";
import type { Config } from "../config/config.ts";
import { connectionsRoutes } from "../connections/http.ts";
import { type CallCounts, type GrpcServerOptions, startGrpcServer } from "../grpc/server.ts";
import { createHttpApp, type FastView, type HttpAppDeps } from "../http/server.ts";
import type { Logger } from "../log/logger.ts";
import { presenceRoutes } from "../presence/http.ts";
import type { PresenceTracker } from "../presence/tracker.ts";
import { rolesRoutes } from "../roles/http.ts";
import type { Domain } from "./domain.ts";
import type { Resource } from "./resources.ts";

/** The HTTP API's routes, one plugin per capability. */
export const httpRoutes = (domain: Domain, presence: Pick<PresenceTracker, "view">): AnyElysia[] => [
  clientsRoutes(domain.clients),
  presenceRoutes(domain.clients, presence),
  channelsRoutes(domain.channels),
  connectionsRoutes(domain.connections),
  rolesRoutes(domain.roles),
];

/** The GETs of one entity that Bun's router answers before Elysia (issue #14, the hot path). */
export const httpFastViews = (domain: Domain): FastView[] => [clientView(domain.clients), channelView(domain.channels)];

/** The HTTP listener (MG_CLIENTS_HTTP_*); starts with its base URL, e.g. http://localhost:9000. */
export function httpListener(
  config: Config,
  deps: HttpAppDeps,
  routes: AnyElysia[],
  feed: { close(): void },
  fastViews: FastView[] = [],
): Resource<{ url: string }> {
  const app = createHttpApp(deps, routes, fastViews);
  return {
    name: "http listener",
    group: "listeners",
    start() {
      app.listen({
        hostname: config.http.host,
        port: config.http.port,
        // Bodies are limited by the app (MG_CLIENTS_HTTP_MAX_BODY), which answers 413 with a JSON
        // message and reads no further; Bun's own limit would answer first, without one.
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
        // Elysia defaults to SO_REUSEPORT, which would let a second instance share the port silently.
        reusePort: false,
        ...(config.http.tls ? { tls: { cert: Bun.file(config.http.tls.cert), key: Bun.file(config.http.tls.key) } } : {}),
      });
      const scheme = config.http.tls ? "https" : "http";
      return { url: `${scheme}://${config.http.host}:${app.server!.port}` };
    },
    async stop({ graceful }) {
      feed.close(); // open event streams would keep server.stop() waiting
      await app.server?.stop(!graceful);
      if (graceful) await new Promise((resolve) => setImmediate(resolve)); // let the last after-response hooks log
    },
  };
}

/** The gRPC listener (MG_CLIENTS_GRPC_*) of both services, for the protocol adapters; starts with its port. */
export function grpcListener(
  config: Config,
  domain: Domain,
  deps: { logger: Logger; counts: CallCounts; extra?: GrpcServerOptions["extra"] },
): Resource<{ port: number }> {
  let stop: ((graceMs?: number) => Promise<void>) | undefined;
  const { access, clients, channels, connections } = domain;
  return {
    name: "grpc listener",
    group: "listeners",
    async start() {
      const server = await startGrpcServer({
        host: config.grpc.host,
        port: config.grpc.port,
        tls: config.grpc.tls,
        logger: deps.logger,
        services: {
          clients: clientsGrpc({ access, clients, connections, logger: deps.logger, counts: deps.counts }),
          channels: channelsGrpc({ access, channels, connections, logger: deps.logger, counts: deps.counts }),
        },
        extra: deps.extra,
      });
      stop = server.stop;
      return { port: server.port };
    },
    stop: () => stop?.(),
  };
}
