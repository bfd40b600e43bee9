import type { Registry } from "prom-client";
import type { Config } from "../config/config.ts";
import { createHooks, type Hooks } from "../hooks/index.ts";
import type { Logger } from "../log/logger.ts";
import type { PresenceTracker } from "../presence/tracker.ts";
import type { Domain } from "./domain.ts";
import type { Resource } from "./resources.ts";

/**
 * The broker hooks (src/hooks): their listener (MG_CLIENTS_HOOKS_*, off when the port is empty)
 * over the same access core and cache as gRPC; also FluxMQ's services for the gRPC listener.
 */
export function hooksListener(
  config: Config,
  domain: Domain,
  deps: { logger: Logger; registry: Registry; presence?: Pick<PresenceTracker, "authenticated" | "session"> },
): Resource<Hooks> {
  const presence = deps.presence;
  const hooks = createHooks({
    config,
    access: domain.access,
    cache: domain.cache,
    channelIdByRoute: domain.channelIdByRoute,
    logger: deps.logger,
    registry: deps.registry,
    onAuthenticated: presence && ((e) => presence.authenticated(e)),
    onSession: presence && ((e) => presence.session(e)),
  });
  return {
    name: "hooks listener",
    group: "listeners",
    async start() {
      await hooks.start();
      return hooks;
    },
    stop: () => hooks.stop(),
  };
}
