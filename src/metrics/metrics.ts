import { Counter, Gauge, type Metric, Registry } from "prom-client";

/**
 * The service's Prometheus registry. prom-client's default process collectors are not used:
 * under Bun some of them print `Nan`, which is not valid exposition text.
 */
export interface Metrics {
  readonly registry: Registry;
  /** http_requests_total and http_request_duration_seconds, by method, route template and status. */
  readonly http: HttpRequestMetrics;
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
  const http = httpRequestMetrics(registry);
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
  return { registry, http, events, render: () => registry.metrics(), contentType: registry.contentType };
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

const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Per-request metrics of the HTTP listener: one call per request, on the hot path. */
interface HttpRequestMetrics {
  observe(method: string, route: string, status: string, seconds: number): void;
}

interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * http_requests_total (a counter) and http_request_duration_seconds (a histogram) from one table
 * of series, exported in prom-client's own format by its registry. prom-client's `inc`/`observe`
 * validate and hash the labels object on every call (issue #14 measured them at a few % of a
 * request); here a request costs one string key, one Map lookup and a bucket scan, and the label
 * objects are built once per series. The count of a series is both the counter and the histogram's
 * `_count`, as before.
 */
function httpRequestMetrics(registry: Registry): HttpRequestMetrics {
  const series = new Map<string, Series>();
  const counter = {
    name: "http_requests_total",
    help: "HTTP requests by route template, method and status.",
    type: "counter",
    aggregator: "sum",
    get: async () => ({
      name: counter.name,
      help: counter.help,
      type: counter.type,
      aggregator: counter.aggregator,
      values: [...series.values()].map((s) => ({ labels: s.labels, value: s.count })),
    }),
  };
  const histogram = {
    name: "http_request_duration_seconds",
    help: "HTTP request latency by route template, method and status.",
    type: "histogram",
    aggregator: "sum",
    // The shape prom-client's Histogram exports: `le` first, the series' labels shared.
    getForPromString: async () => {
      const values: { labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string }[] = [];
      for (const s of series.values()) {
        let acc = 0;
        HTTP_BUCKETS.forEach((le, i) => {
          acc += s.buckets[i]!;
          values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: `${histogram.name}_bucket` });
        });
        values.push({ labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: `${histogram.name}_bucket` });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${histogram.name}_sum` });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${histogram.name}_count` });
      }
      return { name: histogram.name, help: histogram.help, type: histogram.type, aggregator: histogram.aggregator, values };
    },
    get: async () => {
      const data = await histogram.getForPromString();
      return { ...data, values: data.values.map(({ labels, sharedLabels, ...v }) => ({ ...v, labels: { ...labels, ...sharedLabels } })) };
    },
  };
  registry.registerMetric(counter as unknown as Metric);
  registry.registerMetric(histogram as unknown as Metric);
  return {
    observe(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let s = series.get(key);
      if (s === undefined) {
        s = { labels: { method, route, status }, buckets: new Array(HTTP_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
        series.set(key, s);
      }
      let i = 0;
      while (i < HTTP_BUCKETS.length && seconds > HTTP_BUCKETS[i]!) i++;
      s.buckets[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}
