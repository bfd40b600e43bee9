import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The service's Prometheus registry. prom-client's default process collectors are not used:
 * under Bun some of them print `Nan`, which is not valid exposition text.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  readonly events: EventMetrics;
  render(): Promise<string>;
  readonly contentType: string;
}

/** What the event publisher reports. */
export interface EventMetrics {
  /** Events in the outbox, waiting for the broker's acknowledgement. */
  readonly outboxDepth: Gauge;
  /** Events the broker acknowledged (PUBACK), duplicates after a reconnect included. */
  readonly published: Counter;
  /** `connect`: a connection attempt failed; `publish`: an event was sent but not acknowledged. */
  readonly publishFailures: Counter<"reason">;
  /** Undelivered events deleted because the outbox was past its cap. */
  readonly dropped: Counter;
  /** 1 while connected to the broker. */
  readonly brokerConnected: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by route template, method and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by route template, method and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: "process_heap_bytes",
    help: "JavaScript heap in use, in bytes.",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  const started = Date.now() / 1000;
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch in seconds.",
    registers: [registry],
    collect() {
      this.set(started);
    },
  });
  const publishFailures = new Counter({
    name: "events_publish_failures_total",
    help: "Failed deliveries to the event broker: reason=connect (a connection attempt failed), reason=publish (an event sent without acknowledgement; it is retried).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  for (const reason of ["connect", "publish"]) publishFailures.inc({ reason }, 0);
  const events: EventMetrics = {
    outboxDepth: new Gauge({ name: "events_outbox_depth", help: "Events in the outbox waiting for the broker's acknowledgement.", registers: [registry] }),
    published: new Counter({
      name: "events_published_total",
      help: "Events the broker acknowledged (at-least-once: a retried event counts again).",
      registers: [registry],
    }),
    publishFailures,
    dropped: new Counter({
      name: "events_dropped_total",
      help: "Undelivered events deleted because the outbox was past MG_CLIENTS_ES_OUTBOX_MAX_ROWS.",
      registers: [registry],
    }),
    brokerConnected: new Gauge({ name: "events_broker_connected", help: "1 while connected to the event broker, else 0.", registers: [registry] }),
  };
  return { registry, httpRequests, httpDuration, events, render: () => registry.metrics(), contentType: registry.contentType };
}

/**
 * A counter whose values are kept by the code that counts (plain numbers, nothing on the hot
 * path but an increment) and read at scrape time.
 */
export function counterFromTotals(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  totals: () => [Record<string, string>, number][],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of totals()) this.inc(labels, value);
    },
  });
}

/** A gauge read at scrape time. */
export function gaugeFromValues(registry: Registry, name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of values()) this.set(labels, value);
    },
  });
}
