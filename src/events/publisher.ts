import { randomBytes } from "node:crypto";
import { redactUrl } from "../config/config.ts";
import { Wakeup } from "../lib/wakeup.ts";
import type { Logger } from "../log/logger.ts";
import type { EventMetrics } from "../metrics/metrics.ts";
import { type BrokerState, brokerTarget } from "./broker.ts";
import { BrokerConnection } from "./broker-connection.ts";
import { BrokerTrouble } from "./broker-trouble.ts";
import { claimLoop } from "./claim-loop.ts";
import type { Outbox } from "./outbox.ts";
import { OutboxCap } from "./outbox-cap.ts";
import { OutboxDepth } from "./outbox-depth.ts";
import { DEFAULT_TUNING, type PublisherTuning } from "./tuning.ts";

/**
 * Ships the outbox to the MQTT broker (DESIGN decision 6, "Events on MQTT"): oldest first, QoS 1,
 * not retained, on one connection, so the broker receives events in `seq` order. A row is deleted
 * only after its PUBACK; whatever was not acknowledged stays and is sent again (at-least-once).
 * Broker away: reconnect with capped exponential backoff while the rows wait. One loop does all
 * of it (publish, acknowledge, cap), so none of it runs inside a user's transaction. The parts:
 * the connection (broker-connection.ts), the cap (outbox-cap.ts), the loop (claim-loop.ts).
 */

export interface PublisherDeps {
  outbox: Outbox;
  /** MG_CLIENTS_ES_URL; empty turns publishing off (the cap still bounds the outbox). */
  url: string;
  topicPrefix: string;
  /** MG_CLIENTS_ES_OUTBOX_MAX_ROWS */
  maxRows: number;
  logger: Logger;
  metrics: EventMetrics;
  tuning?: Partial<PublisherTuning>;
}

export interface Publisher {
  readonly state: BrokerState;
  /**
   * Undelivered events: tracked, exact for the one process that owns a SQLite database; on a
   * shared outbox the database's count of all instances' events, at most recountMs old.
   */
  readonly depth: number;
  /** Counts the outbox and starts the loop. */
  start(): Promise<void>;
  /**
   * Publishes what it can within `flushMs`, then disconnects. Unacknowledged events stay in the
   * outbox for the next start. Call before closing the database.
   */
  stop(flushMs: number): Promise<void>;
}

export function createPublisher(deps: PublisherDeps): Publisher {
  const t: PublisherTuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const { outbox, logger, metrics, maxRows } = deps;
  const enabled = deps.url !== "";
  const shownUrl = redactUrl(deps.url);
  // Random per process: two instances must not take over each other's session. 20 characters,
  // within the 23 every MQTT 3.1.1 broker has to accept.
  const clientId = `mgc-${randomBytes(8).toString("hex")}`;
  const wake = new Wakeup();
  const depth = new OutboxDepth(metrics.outboxDepth);
  const trouble = new BrokerTrouble(logger, t.warnEveryMs, shownUrl, depth);
  let stopping = false;
  const connection = new BrokerConnection({
    target: enabled ? brokerTarget(deps.url) : undefined,
    clientId,
    shownUrl,
    tuning: t,
    logger,
    metrics,
    trouble,
    depth,
    stopping: () => stopping,
    onLost: () => wake.notify(),
  });
  const cap = new OutboxCap(outbox, maxRows, depth, t, logger, metrics);
  const loop = claimLoop({
    outbox,
    connection,
    cap,
    depth,
    trouble,
    enabled,
    topicPrefix: deps.topicPrefix,
    tuning: t,
    logger,
    metrics,
    wake,
    stopping: () => stopping,
  });
  let running: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;

  return {
    get state() {
      return connection.state;
    },
    get depth() {
      return depth.value;
    },

    async start() {
      unsubscribe = outbox.onAppended((count) => loop.committed(count));
      depth.set(await outbox.count());
      connection.setState(connection.state);
      if (!enabled) {
        logger.info("event publishing is off (MG_CLIENTS_ES_URL is empty); the outbox keeps the newest events up to its cap", {
          undelivered: depth.value,
          max_rows: maxRows,
        });
      }
      running = loop.run();
    },

    async stop(flushMs) {
      if (!running) return;
      stopping = true;
      wake.notify();
      const deadline = setTimeout(() => connection.abort(), flushMs);
      await running;
      clearTimeout(deadline);
      await connection.end();
      cap.reportUnlogged();
      logger.info("event publisher stopped", { undelivered: depth.value });
      unsubscribe?.();
    },
  };
}
