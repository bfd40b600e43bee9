import { randomBytes } from "node:crypto";
import { sql as dsql } from "drizzle-orm";
import type { Sql } from "postgres";
import type { Logger } from "../log/logger.ts";
import { asPg, type Executor } from "./database.ts";

/**
 * The invalidation bus: how the instances of one database keep their in-memory caches coherent.
 * A message is an opaque string chosen by the cache (for example `client:<id>`); the bus delivers
 * every message published by any instance to every subscriber of every instance, this one
 * included. `FLUSH_ALL` means "drop everything": the bus sends it itself whenever messages may
 * have been missed, and anyone may publish it (an import does).
 *
 * Publishing:
 * - inside a write, `tx.invalidate(message)`: nothing happens on rollback; on commit the local
 *   subscribers get it before `transact` resolves, and on Postgres the NOTIFY is part of the
 *   transaction, so other instances get it exactly when the change becomes visible, never before;
 * - after a commit made some other way, `bus.publish(message)`: local subscribers at once, other
 *   instances a round trip later.
 *
 * Coherence window on Postgres (see README "Several instances"): another instance applies a message
 * as soon as its listening connection reads the notification, normally within milliseconds of the
 * commit; a call it answers from its cache in between may still see the old state. If the listening
 * connection drops, the instance flushes (FLUSH_ALL) as soon as it notices — at once when the socket
 * closes, within HEARTBEAT_MS + HEARTBEAT_TIMEOUT_MS when the network goes silent — reports
 * `coherent: false` until it listens again, and flushes once more when it does, because
 * notifications sent while it was away are lost.
 */
export const FLUSH_ALL = "*";

export interface InvalidationBus {
  /** After a commit: delivers `message` to every instance's subscribers (this one's at once). */
  publish(message: string): void;
  /** Receives every message, and FLUSH_ALL when messages may have been missed. Returns the unsubscribe. */
  subscribe(handler: (message: string) => void): () => void;
  /** False while messages from other instances may be missed (Postgres: the listener is reconnecting). */
  readonly coherent: boolean;
}

/** What a Database implementation calls around its commits. */
export interface BusEndpoint extends InvalidationBus {
  /** Inside the transaction, just before COMMIT (Postgres: NOTIFY, delivered by the commit). */
  beforeCommit(exec: Executor, messages: string[]): Promise<void>;
  /** After COMMIT: this instance's subscribers. */
  afterCommit(messages: string[]): void;
  close(): Promise<void>;
}

/** The Postgres notification channel (per database: instances on other databases never hear it). */
export const BUS_CHANNEL = "mgc_invalidate";
/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7999;
export const HEARTBEAT_MS = 2000;
export const HEARTBEAT_TIMEOUT_MS = 3000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/** A sleep that does not keep the process alive by itself (a CLI exits without waiting for it). */
export const idle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

class Subscribers {
  private readonly handlers = new Set<(message: string) => void>();
  constructor(private readonly logger: Logger) {}
  add(handler: (message: string) => void): () => void {
    this.handlers.add(handler);
    return () => void this.handlers.delete(handler);
  }
  deliver(message: string): void {
    for (const h of this.handlers) {
      try {
        h(message);
      } catch (err) {
        this.logger.error("invalidation handler failed", { error: err });
      }
    }
  }
}

/** SQLite: one process owns the database, so the bus is a list of local subscribers. */
export function createLocalBus(logger: Logger): BusEndpoint {
  const subs = new Subscribers(logger);
  return {
    coherent: true,
    publish: (message) => subs.deliver(message),
    subscribe: (handler) => subs.add(handler),
    beforeCommit: async () => undefined,
    afterCommit: (messages) => {
      for (const m of messages) subs.deliver(m);
    },
    close: async () => undefined,
  };
}

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
      await sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt - 1, 10)));
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
    async beforeCommit(exec, messages) {
      // Usually one message per write; Postgres folds duplicates within a transaction.
      for (const m of new Set(messages)) await asPg(exec).execute(dsql`SELECT pg_notify(${BUS_CHANNEL}, ${wire(m)})`);
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
