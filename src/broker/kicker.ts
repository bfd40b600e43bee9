import type { Outbox } from "../events/outbox.ts";
import { type BackoffPolicy, backoffDelay } from "../lib/backoff.ts";
import { Wakeup } from "../lib/wakeup.ts";
import type { Logger } from "../log/logger.ts";
import { BrokerApiError, type BrokerDriver } from "./drivers.ts";

/**
 * Drains the kicks table (written in the revoking change's transaction, src/db/outbox-append.ts)
 * through the broker's management API: oldest first, a row deleted only once the broker confirmed
 * the kick (or said there was no session), so a kick is never lost — the API away, the process
 * restarted — and never delays the REST call that caused it. While the API fails, the loop waits
 * the shared backoff (src/lib/backoff.ts) and tries the same rows again.
 */

export interface KickerTuning {
  batchSize: number;
  /** Kicks sent at once within a batch. */
  parallel: number;
  /** Safety-net poll while idle; commits that wrote kicks wake the loop at once. */
  pollMs: number;
  backoff: BackoffPolicy;
  /** At most one warning per this interval while the API is away. */
  warnEveryMs: number;
}

const DEFAULT_KICKER_TUNING: KickerTuning = {
  batchSize: 64,
  parallel: 8,
  pollMs: 2000,
  backoff: { baseMs: 200, maxMs: 5000, jitter: "equal" },
  warnEveryMs: 60_000,
};

interface KickerStats {
  /** Kicks the broker confirmed. */
  done: number;
  /** Attempts that failed and will be retried. */
  failed: number;
  /** Kicks the broker refused for good (logged, dropped). */
  refused: number;
  pending: number;
  apiUp: boolean;
}

export interface KickerDeps {
  queue: Outbox;
  driver: BrokerDriver;
  /** The MQTT client ids presence saw for a client (EMQX and VerneMQ kick by them). */
  mqttClientIdsOf(id: string): string[];
  logger: Logger;
  tuning?: Partial<KickerTuning>;
}

export function createKicker(deps: KickerDeps) {
  const t: KickerTuning = { ...DEFAULT_KICKER_TUNING, ...deps.tuning };
  const { queue, driver, logger } = deps;
  const wake = new Wakeup();
  const stats: KickerStats = { done: 0, failed: 0, refused: 0, pending: 0, apiUp: true };
  let stopping = false;
  let running: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  let failures = 0;
  let lastWarn = 0;

  async function kickOne(row: { seq: number; stream: string; entityId: string; payload: string }): Promise<boolean> {
    const started = performance.now();
    const { domain } = JSON.parse(row.payload) as { domain?: string };
    const r = await driver.kick(row.entityId, deps.mqttClientIdsOf(row.entityId));
    if (r.refused) {
      stats.refused++;
      logger.warn("kick refused by the broker", { client_id: row.entityId, domain, reason: row.stream, broker: driver.kind, answer: r.refused });
    } else {
      stats.done++;
      logger.info("session kicked", {
        client_id: row.entityId,
        domain,
        reason: row.stream,
        broker: driver.kind,
        closed: r.closed,
        ms: Math.round(performance.now() - started),
      });
    }
    return true;
  }

  /** One batch: "empty", "done", or "failed" (the API is away: back off). */
  async function step(): Promise<"empty" | "done" | "failed"> {
    const batch = await queue.claim(t.batchSize);
    const acked: number[] = [];
    let error: unknown;
    try {
      if (batch.rows.length === 0) return "empty";
      for (let i = 0; i < batch.rows.length && error === undefined; i += t.parallel) {
        const slice = batch.rows.slice(i, i + t.parallel);
        const results = await Promise.allSettled(slice.map(kickOne));
        results.forEach((res, j) => {
          if (res.status === "fulfilled") acked.push(slice[j]!.seq);
          else error ??= res.reason;
        });
      }
    } finally {
      await batch.acknowledge(acked);
      stats.pending = Math.max(0, stats.pending - acked.length);
    }
    if (error === undefined) return "done";
    if (!(error instanceof BrokerApiError)) throw error;
    stats.failed += batch.rows.length - acked.length;
    stats.apiUp = false;
    if (Date.now() - lastWarn >= t.warnEveryMs) {
      lastWarn = Date.now();
      logger.warn("broker management API unavailable, kicks wait and are retried", {
        broker: driver.kind,
        error: error.message,
        waiting: batch.rows.length - acked.length,
      });
    }
    return "failed";
  }

  async function backoff(): Promise<void> {
    const until = Date.now() + backoffDelay(failures++, t.backoff);
    while (!stopping && Date.now() < until) await wake.wait(until - Date.now());
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let r: "empty" | "done" | "failed";
      try {
        r = await step();
      } catch (err) {
        logger.error("kicker failed, retrying", { error: err });
        r = "failed";
      }
      if (r === "failed") {
        await backoff();
        continue;
      }
      if (failures > 0) logger.info("broker management API reachable again", { broker: driver.kind });
      failures = 0;
      stats.apiUp = true;
      if (r === "empty") await wake.wait(t.pollMs);
    }
  }

  return {
    stats,
    async start(): Promise<void> {
      unsubscribe = queue.onAppended((n) => {
        stats.pending += n;
        wake.notify();
      });
      stats.pending = await queue.count();
      running = run();
    },
    async stop(): Promise<void> {
      stopping = true;
      unsubscribe?.();
      wake.notify();
      await running;
    },
  };
}
