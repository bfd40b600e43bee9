import { randomBytes } from "node:crypto";
import type { Sql } from "postgres";
import { FLUSH_ALL } from "../../domain/invalidation.ts";
import { type BackoffPolicy, backoffDelay } from "../../lib/backoff.ts";
import { idle } from "../../lib/idle.ts";
import type { Logger } from "../../log/logger.ts";
import { type BusEndpoint, Subscribers } from "./bus.ts";

/** The Postgres notification channel (per database: instances on other databases never hear it). */
const BUS_CHANNEL = "mgc_invalidate";
/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7999;
const HEARTBEAT_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 3000;
const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 5000 };

export interface PgBusOptions {
  /** The service's pool, for NOTIFY outside a transaction. */
  pool: Sql;
  /** A new client on the same database with these options added (the listener's dedicated connection). */
  connect(extra: { max: 1; idle_timeout: 0; max_lifetime: null; onnotify: (channel: string, payload: string) => void; onclose: () => void }): Sql;
  logger: Logger;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

export interface PgBus extends BusEndpoint {
  /** Resolves once the listener listens (start-up waits for it). */
  ready: Promise<void>;
  /**
   * Inside the transaction, just before COMMIT: NOTIFY, delivered by the commit itself; `notify`
   * sends it with the transaction's commit (src/db/postgres/pipeline.ts).
   */
  beforeCommit(notify: (channel: string, payload: string) => void, messages: string[]): void;
}

/**
 * Postgres: NOTIFY on BUS_CHANNEL, LISTEN on a dedicated connection that is watched (close event
 * and heartbeat) and re-established with backoff. Payload `<origin>:<message>`; an instance skips
 * its own notifications, whose subscribers it served at commit.
 */
export function createPgBus(opts: PgBusOptions): PgBus {
  const { logger } = opts;
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const origin = randomBytes(8).toString("hex");
  const subs = new Subscribers(logger);
  const inflight = new Set<Promise<unknown>>();
  let coherent = false;
  let closed = false;
  let wakeClosed!: () => void;
  const closing = new Promise<void>((resolve) => (wakeClosed = resolve));

  const wire = (message: string): string => {
    const payload = `${origin}:${message}`;
    // A message Postgres cannot carry still must not be lost: the others flush everything instead.
    return Buffer.byteLength(payload) <= MAX_PAYLOAD ? payload : `${origin}:${FLUSH_ALL}`;
  };

  function received(channel: string, payload: string): void {
    if (channel !== BUS_CHANNEL) return;
    const at = payload.indexOf(":");
    if (at < 0 || payload.slice(0, at) === origin) return;
    subs.deliver(payload.slice(at + 1));
  }

  function lostMessages(): void {
    coherent = false;
    subs.deliver(FLUSH_ALL);
  }

  const sleep = (ms: number) => Promise.race([idle(ms), closing]);

  let markReady!: () => void;
  let failReady!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  void ready.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  let started = false;

  async function listenOnce(): Promise<void> {
    let markLost!: () => void;
    const lost = new Promise<"lost">((resolve) => (markLost = () => resolve("lost")));
    const client = opts.connect({ max: 1, idle_timeout: 0, max_lifetime: null, onnotify: received, onclose: () => markLost() });
    try {
      await client.unsafe(`LISTEN "${BUS_CHANNEL}"`);
      if (started) {
        // Whatever was published while nobody listened is lost: start from an empty cache.
        subs.deliver(FLUSH_ALL);
        logger.info("invalidation listener reconnected; caches flushed");
      }
      coherent = true;
      started = true;
      markReady();
      while (!closed) {
        const next = await Promise.race([lost, closing.then(() => "closed" as const), idle(heartbeatMs).then(() => "beat" as const)]);
        if (next !== "beat") break;
        const alive = await Promise.race([
          client.unsafe("SELECT 1").then(
            () => true,
            () => false,
          ),
          idle(heartbeatTimeoutMs).then(() => false),
        ]);
        if (!alive) break;
      }
    } finally {
      await client.end({ timeout: 0 }).catch(() => undefined);
    }
  }

  async function run(): Promise<void> {
    for (let attempt = 0; !closed; ) {
      try {
        await listenOnce();
        attempt = 0;
      } catch (err) {
        if (!started) {
          failReady(err);
          return;
        }
        if (attempt % 10 === 0) logger.warn("invalidation listener cannot reconnect, retrying", { error: (err as Error).message, attempts: attempt + 1 });
      }
      if (closed) return;
      if (coherent) {
        lostMessages();
        logger.warn("invalidation listener lost its connection; caches flushed, reconnecting");
      }
      attempt++;
      await sleep(backoffDelay(attempt - 1, RECONNECT_BACKOFF));
    }
  }
  const loop = run();

  return {
    ready,
    get coherent() {
      return coherent;
    },
    subscribe: (handler) => subs.add(handler),
    publish(message) {
      subs.deliver(message);
      const p = opts.pool`SELECT pg_notify(${BUS_CHANNEL}, ${wire(message)})`.catch((err: unknown) =>
        logger.error("invalidation publish failed", { error: (err as Error).message }),
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
    beforeCommit(notify, messages) {
      // Usually one message per write; Postgres folds duplicates within a transaction.
      for (const m of new Set(messages)) notify(BUS_CHANNEL, wire(m));
    },
    afterCommit(messages) {
      for (const m of messages) subs.deliver(m);
    },
    async close() {
      closed = true;
      wakeClosed();
      await Promise.allSettled([...inflight]);
      await loop;
    },
  };
}
