import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { createOutbox } from "../events/outbox.ts";
import { createPublisher, type Publisher } from "../events/publisher.ts";
import type { PublisherTuning } from "../events/tuning.ts";
import type { Logger } from "../log/logger.ts";
import type { EventMetrics } from "../metrics/metrics.ts";
import type { Resource } from "./resources.ts";

export interface EventsOptions {
  /** On shutdown, how long the publisher may keep delivering the outbox (a failed start: 0). */
  flushMs: number;
  tuning?: Partial<PublisherTuning>;
}

/** The outbox publisher (src/events/publisher.ts): ships committed events to MQTT until stopped. */
export function eventPublisher(config: Config, db: Database, deps: { logger: Logger; metrics: EventMetrics }, opts: EventsOptions): Resource<Publisher> {
  const publisher = createPublisher({
    outbox: createOutbox(db),
    url: config.events.url,
    topicPrefix: config.events.topicPrefix,
    maxRows: config.events.outboxMaxRows,
    logger: deps.logger,
    metrics: deps.metrics,
    tuning: opts.tuning,
  });
  return {
    name: "event publisher",
    async start() {
      await publisher.start();
      return publisher;
    },
    // The last requests' events included; what the broker does not acknowledge in time stays.
    stop: ({ graceful }) => publisher.stop(graceful ? opts.flushMs : 0),
  };
}
