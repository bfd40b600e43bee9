import type { Registry } from "prom-client";
import type { AccessService } from "../auth/access.ts";
import type { AccessCache } from "../cache/access-cache.ts";
import type { Config } from "../config/config.ts";
import { brokerTarget } from "../events/broker.ts";
import type { MaybePromise } from "../lib/maybe-promise.ts";
import type { Logger } from "../log/logger.ts";
import { counterFromTotals } from "../metrics/metrics.ts";
import { createHookAccess, type HookAccess, type Principal } from "./core.ts";
import { type Authenticated, type DialectContext, HookCounts, type HookRoute, type SessionNotice } from "./dialect.ts";
import { emqxRoutes } from "./emqx.ts";
import { fluxmqConnectRoutes, fluxmqGrpcServices } from "./fluxmq.ts";
import { goAuthRoutes } from "./goauth.ts";
import { nanomqRoutes } from "./nanomq.ts";
import { rabbitmqRoutes } from "./rabbitmq.ts";
import { bearerCheck } from "./request.ts";
import { type RunningHooksServer, startHooksServer } from "./server.ts";
import { vernemqRoutes } from "./vernemq.ts";

/**
 * Broker hooks (contract hooks.md): a stock broker authenticates and authorizes its clients
 * through the appliance. One factory, one resource for src/main.ts to start and stop.
 */

export type HooksState = "disabled" | "starting" | "listening" | "stopped";

export interface HooksDeps {
  config: Pick<Config, "hooks" | "events">;
  access: AccessService;
  cache: AccessCache;
  /** The channel with this route in the domain, any status. */
  channelIdByRoute(domainId: string, route: string): MaybePromise<string | undefined>;
  logger: Logger;
  /** Where hooks_checks_total is registered. */
  registry: Registry;
  /** Every successful authentication of every dialect (for presence). */
  onAuthenticated?(e: Authenticated): void;
  /** A broker's session notices (EMQX webhooks, VerneMQ on_register/on_client_offline/on_client_gone). */
  onSession?(e: SessionNotice): void;
}

export interface Hooks {
  /** The one authenticate/authorize behind every dialect. */
  readonly core: HookAccess;
  /** For /health: disabled when MG_CLIENTS_HOOKS_PORT is empty. */
  readonly state: HooksState;
  /** The listener's base URL and port, once listening. */
  readonly url: string | undefined;
  readonly port: number | undefined;
  /** FluxMQ's AuthService (both package names) for the gRPC listener, served whether or not the hooks listener is on. */
  readonly grpcServices: ReturnType<typeof fluxmqGrpcServices>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The event publisher's `user:password` from MG_CLIENTS_ES_URL, if it has both. */
export function principalOf(esUrl: string): Principal | undefined {
  if (esUrl === "") return undefined;
  const t = brokerTarget(esUrl);
  return t.username && t.password ? { username: t.username, password: t.password } : undefined;
}

export function createHooks(deps: HooksDeps): Hooks {
  const { config, logger } = deps;
  const core = createHookAccess({
    access: deps.access,
    cache: deps.cache,
    channelIdByRoute: deps.channelIdByRoute,
    principal: principalOf(config.events.url),
    eventsPrefix: config.events.topicPrefix,
  });
  const counts = new HookCounts();
  counterFromTotals(deps.registry, "hooks_checks_total", "Broker hook answers by dialect, check and outcome.", ["dialect", "check", "outcome"], () =>
    counts.totals(),
  );
  const ctx: DialectContext = {
    core,
    counts,
    logger,
    tokenOk: bearerCheck(config.hooks?.token),
    authenticated: (e) => deps.onAuthenticated?.(e),
    session: (e) => deps.onSession?.(e),
  };
  const dialects = [rabbitmqRoutes, emqxRoutes, nanomqRoutes, goAuthRoutes, vernemqRoutes, fluxmqConnectRoutes];
  const routes: HookRoute[] = config.hooks ? dialects.flatMap((d) => d(ctx)) : [];
  const grpcServices = fluxmqGrpcServices(ctx);

  let state: HooksState = config.hooks ? "starting" : "disabled";
  let server: RunningHooksServer | undefined;
  return {
    core,
    grpcServices,
    get state() {
      return state;
    },
    get url() {
      return server?.url;
    },
    get port() {
      return server?.port;
    },
    async start() {
      const listen = config.hooks;
      if (!listen || server) return;
      server = startHooksServer({ host: listen.host, port: listen.port, tls: listen.tls, logger, routes });
      state = "listening";
    },
    async stop() {
      if (!server) return;
      await server.stop();
      server = undefined;
      state = "stopped";
    },
  };
}
