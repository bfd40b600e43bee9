import type { Registry } from "prom-client";
import type { BrokerConfig } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { createKickQueue } from "../events/outbox.ts";
import type { Logger } from "../log/logger.ts";
import { counterFromTotals, gaugeFromValues } from "../metrics/metrics.ts";
import type { PresenceTracker } from "../presence/tracker.ts";
import { type BrokerDriver, brokerDriver } from "./drivers.ts";
import { createKicker, type KickerTuning } from "./kicker.ts";

/**
 * The broker management link (MG_CLIENTS_BROKER_*): the kicker that closes revoked devices' live
 * sessions, and for RabbitMQ — which tells nobody when a connection opens or closes — the poll of
 * its connection list every MG_CLIENTS_BROKER_POLL_INTERVAL, fed to presence.
 */

export interface BrokerLinkDeps {
  config: BrokerConfig;
  db: Database;
  presence: PresenceTracker;
  logger: Logger;
  registry: Registry;
  tuning?: Partial<KickerTuning>;
  /** Tests: another driver (a broker API at another address). */
  driver?: BrokerDriver;
}

export function createBrokerLink(deps: BrokerLinkDeps) {
  const { config, presence, logger } = deps;
  const driver = deps.driver ?? brokerDriver(config);
  const kicker = createKicker({
    queue: createKickQueue(deps.db),
    driver,
    mqttClientIdsOf: (id) => presence.mqttClientIdsOf(id),
    logger,
    tuning: deps.tuning,
  });
  const polls = { ok: 0, failed: 0 };
  counterFromTotals(deps.registry, "broker_kicks_total", "Kicks of live broker sessions by outcome (failed attempts are retried).", ["outcome"], () => [
    [{ outcome: "done" }, kicker.stats.done],
    [{ outcome: "failed" }, kicker.stats.failed],
    [{ outcome: "refused" }, kicker.stats.refused],
  ]);
  gaugeFromValues(deps.registry, "broker_kicks_pending", "Kicks waiting for the broker's management API.", [], () => [[{}, kicker.stats.pending]]);
  gaugeFromValues(deps.registry, "broker_api_up", "1 while the broker's management API answered the last call.", [], () => [[{}, kicker.stats.apiUp ? 1 : 0]]);
  counterFromTotals(deps.registry, "broker_polls_total", "Reads of the broker's connection list (RabbitMQ) by outcome.", ["outcome"], () => [
    [{ outcome: "ok" }, polls.ok],
    [{ outcome: "failed" }, polls.failed],
  ]);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let polling: Promise<void> | undefined;
  let stopped = false;
  let lastWarn = 0;
  const list = driver.sessions?.bind(driver);

  async function poll(): Promise<void> {
    if (!list) return;
    const startedAt = Date.now();
    try {
      const sessions = await list();
      polls.ok++;
      await presence.snapshot(sessions, startedAt);
    } catch (err) {
      polls.failed++;
      if (Date.now() - lastWarn > 60_000) {
        lastWarn = Date.now();
        logger.warn("could not read the broker's connection list (presence keeps its last state)", { broker: driver.kind, error: err });
      }
    }
  }
  const schedule = () => {
    if (stopped || !list) return;
    timer = setTimeout(() => {
      polling = poll().finally(schedule);
    }, config.pollMs);
  };

  return {
    kicker,
    async start(): Promise<void> {
      await kicker.start();
      logger.info("broker management link on", { broker: driver.kind, api: config.apiUrl, poll_ms: list ? config.pollMs : undefined });
      schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await polling;
      await kicker.stop();
    },
  };
}
