import type { MqttClient } from "mqtt";
import { backoffDelay } from "../lib/backoff.ts";
import type { Wakeup } from "../lib/wakeup.ts";
import type { Logger } from "../log/logger.ts";
import type { EventMetrics } from "../metrics/metrics.ts";
import { topicFor } from "./broker.ts";
import type { BrokerConnection } from "./broker-connection.ts";
import type { BrokerTrouble } from "./broker-trouble.ts";
import type { Outbox, OutboxBatch } from "./outbox.ts";
import type { OutboxCap } from "./outbox-cap.ts";
import type { OutboxDepth } from "./outbox-depth.ts";
import type { PublisherTuning } from "./tuning.ts";

type Step = "idle" | "again" | "exit";

export interface ClaimLoopDeps {
  outbox: Outbox;
  connection: BrokerConnection;
  cap: OutboxCap;
  depth: OutboxDepth;
  trouble: BrokerTrouble;
  /** False when publishing is off: the loop only keeps the cap. */
  enabled: boolean;
  topicPrefix: string;
  tuning: PublisherTuning;
  logger: Logger;
  metrics: EventMetrics;
  /** Wakes the loop (commits, a lost connection, stop). */
  wake: Wakeup;
  stopping: () => boolean;
}

/**
 * The publisher's loop: claim the oldest rows, publish them in order, delete what the broker
 * acknowledged, keep the cap; connect when there is no connection and back off after a failure.
 * Runs until the publisher stops and nothing is left to send within the flush time.
 */
export function claimLoop(deps: ClaimLoopDeps) {
  const { outbox, connection, cap, depth, trouble, logger, metrics, wake, stopping } = deps;
  const t = deps.tuning;
  const topics = new Map<string, string>();
  /** Commit notifications so far, to tell whether an empty read is still the truth. */
  let commits = 0;
  let failedAttempts = 0;

  const topicOf = (stream: string): string => {
    let topic = topics.get(stream);
    if (topic === undefined) topics.set(stream, (topic = topicFor(deps.topicPrefix, stream)));
    return topic;
  };

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
        if (!outbox.shared && commits === commitsBefore) depth.set(0);
        return "empty";
      }
      ({ acked: delivered, outcome } = await send(c, lost, batch));
    } finally {
      const deleted = await batch.acknowledge(delivered);
      if (delivered.length > 0) {
        depth.set(depth.value - deleted);
        metrics.published.inc(delivered.length);
      }
    }
    const missing = batch.rows.length - delivered.length;
    if (missing === 0) return "sent";
    metrics.publishFailures.inc({ reason: "publish" }, missing);
    if (!stopping()) trouble.report("events not acknowledged by the broker, will retry", { error: outcome, unacknowledged: missing });
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

  /** Waits out the reconnect delay; stop ends it early, commits only get the cap checked. */
  async function backoff(): Promise<void> {
    failedAttempts++;
    const until = Date.now() + backoffDelay(failedAttempts - 1, { baseMs: t.backoffMinMs, maxMs: t.backoffMaxMs, jitter: "equal" });
    while (!stopping()) {
      const left = until - Date.now();
      if (left <= 0) return;
      await wake.wait(left);
      if (!stopping()) await cap.enforce();
    }
  }

  async function step(): Promise<Step> {
    if (!stopping()) await cap.enforce();
    if (!deps.enabled) return stopping() ? "exit" : "idle";
    let c = connection.current;
    if (!c) {
      if (stopping()) return "exit";
      if (!(await connection.connect())) {
        await backoff();
        return "again";
      }
      c = connection.current!;
    }
    const result = await publishBatch(c, connection.lost);
    if (result === "failed") {
      connection.drop(c);
      await backoff();
      return "again";
    }
    failedAttempts = 0;
    if (result === "sent") return "again";
    return stopping() ? "exit" : "idle";
  }

  return {
    /** A commit appended `count` events (they are visible now). */
    committed(count: number): void {
      commits++;
      depth.set(depth.value + count);
      wake.notify();
    },

    async run(): Promise<void> {
      for (;;) {
        let next: Step;
        try {
          next = await step();
        } catch (err) {
          // A database error, most likely; keep the loop alive and try again later.
          logger.error("event publisher failed, retrying", { error: err });
          if (stopping()) return;
          await backoff();
          next = "again";
        }
        if (next === "exit") return;
        if (next === "idle") await wake.wait(t.pollMs);
      }
    },
  };
}
