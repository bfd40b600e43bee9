import { randomBytes } from "node:crypto";
import { type MqttClient, type MqttProtocol, connect as mqttConnect } from "mqtt";
import { redactUrl } from "../config/config.ts";
import { Wakeup } from "../lib/wakeup.ts";
import type { Logger } from "../log/logger.ts";
import type { EventMetrics } from "../metrics/metrics.ts";
import type { Outbox, OutboxBatch } from "./outbox.ts";

/**
 * Ships the outbox to the MQTT broker (DESIGN decision 6, "Events on MQTT"): oldest first, QoS 1,
 * not retained, on one connection, so the broker receives events in `seq` order. A row is deleted
 * only after its PUBACK; whatever was not acknowledged stays and is sent again (at-least-once).
 * Broker away: reconnect with capped exponential backoff while the rows wait. One loop does all
 * of it (publish, acknowledge, cap), so none of it runs inside a user's transaction.
 */

/** What /health reports. */
export type BrokerState = "connected" | "disconnected" | "disabled";

export interface PublisherTuning {
  /** Events in flight at once (pipelined on the one connection, so still in order). */
  batchSize: number;
  /** Safety-net poll while idle; commits wake the loop at once. */
  pollMs: number;
  /** Reconnect delay: doubles per failed attempt from min up to max (with jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
  /** A batch not acknowledged within this is treated as a dead connection. */
  ackTimeoutMs: number;
  keepaliveSeconds: number;
  /** Rows deleted per cap transaction, so the write lock is held briefly. */
  dropChunk: number;
  /** At most one warning per this interval for a persisting condition (broker away, cap). */
  warnEveryMs: number;
  /** Shared outbox (Postgres): how often the depth is counted again in the database. */
  recountMs: number;
}

export const DEFAULT_TUNING: PublisherTuning = {
  batchSize: 256,
  pollMs: 2000,
  backoffMinMs: 200,
  backoffMaxMs: 5000,
  connectTimeoutMs: 5000,
  ackTimeoutMs: 10_000,
  keepaliveSeconds: 15,
  dropChunk: 10_000,
  warnEveryMs: 60_000,
  recountMs: 1000,
};

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

/** `events` + `magistrala.client.create` → `events/magistrala/client/create`. */
export function topicFor(prefix: string, stream: string): string {
  const p = prefix.replace(/\/+$/, "");
  const s = stream.replaceAll(".", "/");
  return p ? `${p}/${s}` : s;
}

export interface BrokerTarget {
  protocol: MqttProtocol;
  host: string;
  port?: number;
  /** WebSocket path. */
  path?: string;
  username?: string;
  password?: string;
}

/**
 * mqtt.js connection options from MG_CLIENTS_ES_URL, credentials percent-decoded. Options rather
 * than the URL itself: mqtt.js would run it through the deprecated `url.parse()`, which prints a
 * warning to stderr.
 */
export function brokerTarget(url: string): BrokerTarget {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, "") as MqttProtocol;
  const target: BrokerTarget = { protocol, host: u.hostname.replace(/^\[(.*)\]$/, "$1") };
  if (u.port) target.port = Number(u.port);
  if (protocol.startsWith("ws")) target.path = u.pathname + u.search;
  if (u.username) target.username = decodeURIComponent(u.username);
  if (u.password) target.password = decodeURIComponent(u.password);
  return target;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

type Step = "idle" | "again" | "exit";

export function createPublisher(deps: PublisherDeps): Publisher {
  const t: PublisherTuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const { outbox, logger, metrics, maxRows } = deps;
  const enabled = deps.url !== "";
  const target = enabled ? brokerTarget(deps.url) : undefined;
  const shownUrl = redactUrl(deps.url);
  // Random per process: two instances must not take over each other's session. 20 characters,
  // within the 23 every MQTT 3.1.1 broker has to accept.
  const clientId = `mgc-${randomBytes(8).toString("hex")}`;
  const wake = new Wakeup();
  const topics = new Map<string, string>();

  let state: BrokerState = enabled ? "disconnected" : "disabled";
  let client: MqttClient | undefined;
  /** Resolves when the current connection closes. */
  let connectionLost: Promise<void> = Promise.resolve();
  let connecting: MqttClient | undefined;
  let depth = 0;
  /** Commit notifications so far, to tell whether an empty read is still the truth. */
  let commits = 0;
  let failedAttempts = 0;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let lastBrokerWarn = 0;
  let connectFailuresUnlogged = 0;
  let lastDropWarn = 0;
  let droppedUnlogged = 0;

  const topicOf = (stream: string): string => {
    let topic = topics.get(stream);
    if (topic === undefined) topics.set(stream, (topic = topicFor(deps.topicPrefix, stream)));
    return topic;
  };

  function setDepth(n: number): void {
    depth = Math.max(0, n);
    metrics.outboxDepth.set(depth);
  }

  function setState(s: BrokerState): void {
    state = s;
    metrics.brokerConnected.set(s === "connected" ? 1 : 0);
  }

  /** Warns once per warnEveryMs while the broker stays away (true when it did); the rest is debug. */
  function brokerTrouble(msg: string, fields: Record<string, unknown>): boolean {
    const now = Date.now();
    if (now - lastBrokerWarn >= t.warnEveryMs) {
      lastBrokerWarn = now;
      logger.warn(msg, { url: shownUrl, undelivered: depth, ...fields });
      return true;
    }
    logger.debug(msg, { url: shownUrl, undelivered: depth, ...fields });
    return false;
  }

  function connect(): Promise<boolean> {
    const c = mqttConnect({
      ...target,
      clientId,
      clean: true, // the outbox is the session: nothing is left to the broker to remember
      reconnectPeriod: 0, // reconnection (with backoff) is this loop's job
      connectTimeout: t.connectTimeoutMs,
      keepalive: t.keepaliveSeconds,
      protocolVersion: 4,
    });
    connecting = c;
    return new Promise<boolean>((resolve) => {
      const detach = () => {
        c.off("connect", accepted);
        c.off("error", failed);
        c.off("close", closed);
        connecting = undefined;
      };
      function accepted() {
        detach();
        onConnected(c);
        resolve(true);
      }
      function failed(err: unknown) {
        detach();
        c.on("error", () => {});
        c.end(true);
        metrics.publishFailures.inc({ reason: "connect" });
        connectFailuresUnlogged++;
        if (brokerTrouble("event broker unreachable, events wait in the outbox", { error: messageOf(err), attempts: connectFailuresUnlogged }))
          connectFailuresUnlogged = 0;
        resolve(false);
      }
      const closed = () => failed(new Error("connection closed before the broker accepted it"));
      c.on("connect", accepted);
      c.on("error", failed);
      c.on("close", closed);
    });
  }

  function onConnected(c: MqttClient): void {
    client = c;
    let markLost!: () => void;
    connectionLost = new Promise<void>((resolve) => (markLost = resolve));
    c.on("error", (err) => logger.debug("event broker connection error", { error: err.message }));
    c.on("close", () => {
      markLost();
      if (client !== c) return; // closed on purpose
      client = undefined;
      setState("disconnected");
      if (!stopping) {
        lastBrokerWarn = 0; // a fresh outage: say so at once
        brokerTrouble("lost the connection to the event broker", {});
      }
      wake.notify();
    });
    setState("connected");
    lastBrokerWarn = 0;
    connectFailuresUnlogged = 0;
    logger.info("connected to the event broker", { url: shownUrl, client_id: clientId, undelivered: depth });
  }

  function dropConnection(c: MqttClient): void {
    if (client === c) {
      client = undefined;
      setState("disconnected");
    }
    c.end(true); // fails whatever is still in flight; those rows stay in the outbox
  }

  /** Sends one batch and deletes what the broker acknowledged. */
  async function publishBatch(c: MqttClient, lost: Promise<void>): Promise<"empty" | "sent" | "failed"> {
    const commitsBefore = commits;
    const batch: OutboxBatch = await outbox.claim(t.batchSize);
    // The claim ends with acknowledge, whatever happens (on Postgres it holds a transaction).
    let delivered: number[] = [];
    let outcome = "";
    try {
      if (batch.rows.length === 0) {
        // Shared: others' claims and inserts are invisible here, so an empty claim says nothing.
        if (!outbox.shared && commits === commitsBefore) setDepth(0);
        return "empty";
      }
      ({ acked: delivered, outcome } = await send(c, lost, batch));
    } finally {
      const deleted = await batch.acknowledge(delivered);
      if (delivered.length > 0) {
        setDepth(depth - deleted);
        metrics.published.inc(delivered.length);
      }
    }
    const missing = batch.rows.length - delivered.length;
    if (missing === 0) return "sent";
    metrics.publishFailures.inc({ reason: "publish" }, missing);
    if (!stopping) brokerTrouble("events not acknowledged by the broker, will retry", { error: outcome, unacknowledged: missing });
    return "failed";
  }

  /** Publishes the batch in order; resolves with the acknowledged seqs once all are in, the connection is lost or the time is up. */
  async function send(c: MqttClient, lost: Promise<void>, batch: OutboxBatch): Promise<{ acked: number[]; outcome: string }> {
    const acked: number[] = [];
    const all = Promise.all(
      batch.rows.map((row) =>
        c.publishAsync(topicOf(row.stream), row.payload, { qos: 1, retain: false }).then(
          () => void acked.push(row.seq),
          () => undefined,
        ),
      ),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      all.then(() => "done" as const),
      lost.then(() => "connection lost" as const),
      new Promise<"no acknowledgement in time">((resolve) => (timer = setTimeout(() => resolve("no acknowledgement in time"), t.ackTimeoutMs))),
    ]);
    clearTimeout(timer);
    return { acked: acked.slice(), outcome };
  }

  let counted = 0;

  /** Past the cap: delete the oldest undelivered events, a chunk per transaction. */
  async function enforceCap(): Promise<void> {
    // A shared outbox grows and shrinks through other instances too: ask the database (at most once a second).
    if (outbox.shared && Date.now() - counted >= t.recountMs) {
      counted = Date.now();
      setDepth(await outbox.count());
    }
    if (depth <= maxRows) return;
    let dropped = 0;
    while (depth > maxRows) {
      const n = await outbox.dropOldest(Math.min(depth - maxRows, t.dropChunk));
      if (n === 0) {
        setDepth(await outbox.count());
        break;
      }
      setDepth(depth - n);
      dropped += n;
    }
    if (dropped === 0) return;
    metrics.dropped.inc(dropped);
    droppedUnlogged += dropped;
    if (Date.now() - lastDropWarn >= t.warnEveryMs) {
      lastDropWarn = Date.now();
      logger.warn("outbox past its cap: dropped the oldest undelivered events", { dropped: droppedUnlogged, max_rows: maxRows });
      droppedUnlogged = 0;
    }
  }

  /** Waits out the reconnect delay; stop ends it early, commits only get the cap checked. */
  async function backoff(): Promise<void> {
    failedAttempts++;
    const ceiling = Math.min(t.backoffMaxMs, t.backoffMinMs * 2 ** Math.min(failedAttempts - 1, 30));
    const until = Date.now() + ceiling / 2 + (Math.random() * ceiling) / 2;
    while (!stopping) {
      const left = until - Date.now();
      if (left <= 0) return;
      await wake.wait(left);
      if (!stopping) await enforceCap();
    }
  }

  async function step(): Promise<Step> {
    if (!stopping) await enforceCap();
    if (!enabled) return stopping ? "exit" : "idle";
    let c = client;
    if (!c) {
      if (stopping) return "exit";
      if (!(await connect())) {
        await backoff();
        return "again";
      }
      c = client!;
    }
    const result = await publishBatch(c, connectionLost);
    if (result === "failed") {
      dropConnection(c);
      await backoff();
      return "again";
    }
    failedAttempts = 0;
    if (result === "sent") return "again";
    return stopping ? "exit" : "idle";
  }

  async function run(): Promise<void> {
    for (;;) {
      let next: Step;
      try {
        next = await step();
      } catch (err) {
        // A database error, most likely; keep the loop alive and try again later.
        logger.error("event publisher failed, retrying", { error: err });
        if (stopping) return;
        await backoff();
        next = "again";
      }
      if (next === "exit") return;
      if (next === "idle") await wake.wait(t.pollMs);
    }
  }

  /** After each commit that appended `count` events (the outbox's notification). */
  function eventsCommitted(count: number): void {
    commits++;
    setDepth(depth + count);
    wake.notify();
  }
  let unsubscribe: (() => void) | undefined;

  function abort(): void {
    connecting?.end(true);
    if (client) dropConnection(client);
  }

  return {
    get state() {
      return state;
    },
    get depth() {
      return depth;
    },

    async start() {
      unsubscribe = outbox.onAppended(eventsCommitted);
      setDepth(await outbox.count());
      setState(state);
      if (!enabled) {
        logger.info("event publishing is off (MG_CLIENTS_ES_URL is empty); the outbox keeps the newest events up to its cap", {
          undelivered: depth,
          max_rows: maxRows,
        });
      }
      loop = run();
    },

    async stop(flushMs) {
      if (!loop) return;
      stopping = true;
      wake.notify();
      const deadline = setTimeout(abort, flushMs);
      await loop;
      clearTimeout(deadline);
      const c = client;
      client = undefined;
      if (c) await Promise.race([c.endAsync(), Bun.sleep(500)]).catch(() => undefined);
      if (enabled) setState("disconnected");
      if (droppedUnlogged > 0) logger.warn("outbox past its cap: dropped the oldest undelivered events", { dropped: droppedUnlogged, max_rows: maxRows });
      logger.info("event publisher stopped", { undelivered: depth });
      unsubscribe?.();
    },
  };
}
