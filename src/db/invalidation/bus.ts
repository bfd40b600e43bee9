import type { Logger } from "../../log/logger.ts";

/**
 * The invalidation bus: how the instances of one database keep their in-memory caches coherent.
 * A message is an opaque string here (the vocabulary is src/domain/invalidation.ts); the bus delivers
 * every message published by any instance to every subscriber of every instance, this one
 * included. `FLUSH_ALL` (src/domain/invalidation.ts) means "drop everything": the bus sends it
 * itself whenever messages may have been missed, and anyone may publish it (an import does).
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
export interface InvalidationBus {
  /** After a commit: delivers `message` to every instance's subscribers (this one's at once). */
  publish(message: string): void;
  /** Receives every message, and FLUSH_ALL when messages may have been missed. Returns the unsubscribe. */
  subscribe(handler: (message: string) => void): () => void;
  /** False while messages from other instances may be missed (Postgres: the listener is reconnecting). */
  readonly coherent: boolean;
}

/** What a Database implementation calls after its commits. */
export interface BusEndpoint extends InvalidationBus {
  /** After COMMIT: this instance's subscribers. */
  afterCommit(messages: string[]): void;
  close(): Promise<void>;
}

/** Every subscriber of one instance. */
export class Subscribers {
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
