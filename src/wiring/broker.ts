import type { Registry } from "prom-client";
import type { KickerTuning } from "../broker/kicker.ts";
import { createBrokerLink } from "../broker/link.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { principalOf } from "../hooks/index.ts";
import type { Logger } from "../log/logger.ts";
import { createPresenceTracker, type PresenceTracker } from "../presence/tracker.ts";
import type { Resource } from "./resources.ts";

export interface PresenceTuning {
  flushMs?: number;
  tentativeMs?: number;
}

/**
 * Presence (src/presence/tracker.ts): in memory, written in batches. Started before the hooks
 * listener that feeds it, so it stops after it and writes what is left.
 */
export function presenceTracker(config: Config, db: Database, deps: { logger: Logger; tuning?: PresenceTuning }): Resource<PresenceTracker> {
  const pollMs = config.broker?.pollMs ?? 5000;
  const tracker = createPresenceTracker({
    db,
    logger: deps.logger,
    polled: config.broker?.kind === "rabbitmq",
    // A connection RabbitMQ has not listed yet: counted for two polls (its stats interval is ~5 s).
    tentativeMs: deps.tuning?.tentativeMs ?? Math.max(2 * pollMs, 10_000),
    flushMs: deps.tuning?.flushMs,
    principal: principalOf(config.events.url)?.username,
  });
  return {
    name: "presence",
    start() {
      tracker.start();
      return tracker;
    },
    stop: () => tracker.stop(),
  };
}

/**
 * The broker management link (MG_CLIENTS_BROKER_KIND / _API_URL): kicks revoked devices' live
 * sessions and polls RabbitMQ's connection list. Nothing runs when no broker is configured (the
 * kicks stay in their table until one is).
 */
export function brokerLink(
  config: Config,
  db: Database,
  presence: PresenceTracker,
  deps: { logger: Logger; registry: Registry; tuning?: Partial<KickerTuning> },
): Resource<void> {
  const link = config.broker
    ? createBrokerLink({ config: config.broker, db, presence, logger: deps.logger, registry: deps.registry, tuning: deps.tuning })
    : undefined;
  return {
    name: "broker link",
    start: () => link?.start(),
    stop: () => link?.stop(),
  };
}
