import type { MqttClient } from "mqtt";
import type { Logger } from "../log/logger.ts";
import type { EventMetrics } from "../metrics/metrics.ts";
import type { BrokerState, BrokerTarget } from "./broker.ts";
import type { BrokerTrouble } from "./broker-trouble.ts";
import type { OutboxDepth } from "./outbox-depth.ts";
import type { PublisherTuning } from "./tuning.ts";

/** mqtt.js, loaded at the first connection attempt: a service with publishing off never loads it,
 * and one with publishing on does not load it before it serves (start-up, ~15 ms of evaluation). */
let mqttModule: Promise<typeof import("mqtt")> | undefined;
const loadMqtt = () => {
  mqttModule ??= import("mqtt");
  return mqttModule;
};

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export interface BrokerConnectionDeps {
  /** undefined: publishing is off (MG_CLIENTS_ES_URL is empty). */
  target: BrokerTarget | undefined;
  clientId: string;
  shownUrl: string;
  tuning: Pick<PublisherTuning, "connectTimeoutMs" | "keepaliveSeconds">;
  logger: Logger;
  metrics: EventMetrics;
  trouble: BrokerTrouble;
  depth: OutboxDepth;
  /** True once the publisher is stopping (a lost connection is then no news). */
  stopping: () => boolean;
  /** The connection closed under the loop: wake it. */
  onLost: () => void;
}

/**
 * The publisher's one MQTT connection (QoS 1, clean session: the outbox is the session). Its
 * state is what /health reports; reconnecting, with backoff, is the claim loop's job.
 */
export class BrokerConnection {
  private stateNow: BrokerState;
  /** The connected client, if any. */
  current: MqttClient | undefined;
  /** Resolves when the current connection closes. */
  lost: Promise<void> = Promise.resolve();
  private connecting: MqttClient | undefined;
  private failuresUnlogged = 0;

  constructor(private readonly deps: BrokerConnectionDeps) {
    this.stateNow = deps.target ? "disconnected" : "disabled";
  }

  get state(): BrokerState {
    return this.stateNow;
  }

  setState(s: BrokerState): void {
    this.stateNow = s;
    this.deps.metrics.brokerConnected.set(s === "connected" ? 1 : 0);
  }

  /** One attempt; resolves true once the broker accepted the connection, false when it failed. */
  async connect(): Promise<boolean> {
    const { deps } = this;
    const { connect: mqttConnect } = await loadMqtt();
    if (deps.stopping()) return false; // stopped while mqtt.js was loading: no attempt to cut later
    const c = mqttConnect({
      ...deps.target,
      clientId: deps.clientId,
      clean: true, // the outbox is the session: nothing is left to the broker to remember
      reconnectPeriod: 0, // reconnection (with backoff) is the claim loop's job
      connectTimeout: deps.tuning.connectTimeoutMs,
      keepalive: deps.tuning.keepaliveSeconds,
      protocolVersion: 4,
    });
    this.connecting = c;
    return new Promise<boolean>((resolve) => {
      const detach = () => {
        c.off("connect", accepted);
        c.off("error", failed);
        c.off("close", closed);
        this.connecting = undefined;
      };
      const accepted = () => {
        detach();
        this.connected(c);
        resolve(true);
      };
      const failed = (err: unknown) => {
        detach();
        c.on("error", () => {});
        c.end(true);
        deps.metrics.publishFailures.inc({ reason: "connect" });
        this.failuresUnlogged++;
        if (deps.trouble.report("event broker unreachable, events wait in the outbox", { error: messageOf(err), attempts: this.failuresUnlogged }))
          this.failuresUnlogged = 0;
        resolve(false);
      };
      const closed = () => failed(new Error("connection closed before the broker accepted it"));
      c.on("connect", accepted);
      c.on("error", failed);
      c.on("close", closed);
    });
  }

  private connected(c: MqttClient): void {
    const { deps } = this;
    this.current = c;
    let markLost!: () => void;
    this.lost = new Promise<void>((resolve) => (markLost = resolve));
    c.on("error", (err) => deps.logger.debug("event broker connection error", { error: err.message }));
    c.on("close", () => {
      markLost();
      if (this.current !== c) return; // closed on purpose
      this.current = undefined;
      this.setState("disconnected");
      if (!deps.stopping()) {
        deps.trouble.reset(); // a fresh outage: say so at once
        deps.trouble.report("lost the connection to the event broker", {});
      }
      deps.onLost();
    });
    this.setState("connected");
    deps.trouble.reset();
    this.failuresUnlogged = 0;
    deps.logger.info("connected to the event broker", { url: deps.shownUrl, client_id: deps.clientId, undelivered: deps.depth.value });
  }

  /** Closes `c` at once: whatever is still in flight fails, and those rows stay in the outbox. */
  drop(c: MqttClient): void {
    if (this.current === c) {
      this.current = undefined;
      this.setState("disconnected");
    }
    c.end(true);
  }

  /** Stop's deadline passed: cut the attempt in progress and the connection. */
  abort(): void {
    this.connecting?.end(true);
    if (this.current) this.drop(this.current);
  }

  /** A clean disconnect, at most 500 ms. */
  async end(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c) await Promise.race([c.endAsync(), Bun.sleep(500)]).catch(() => undefined);
    if (this.deps.target) this.setState("disconnected");
  }
}
