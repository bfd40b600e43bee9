import type { TxHandle } from "../domain/transaction.ts";
import type { InvalidationBus } from "./invalidation/bus.ts";
import type { Executor, Tables } from "./portable.ts";

export type Dialect = "sqlite" | "postgres";

/** An event row destined for the outbox, written in the same transaction as the change. */
export interface PendingEvent {
  stream: string;
  entityId: string;
  payload: Record<string, unknown>;
}

/**
 * A kick: the broker must close this client's live sessions once the transaction commits (its
 * right to be connected, or to keep a subscription, was just removed). Written to the kicks table
 * in the same transaction; drained by the broker link (src/broker/kicker.ts).
 */
export interface PendingKick {
  /** The client id: the MQTT username the broker knows the device's sessions by. */
  clientId: string;
  domainId: string;
  /** The change that revoked it, e.g. `client.disable` (logged with the kick). */
  reason: string;
}

/** The scope of one write transaction, over the executor `E` of its database. */
export interface TxOf<E> extends TxHandle {
  readonly db: E;
  /** Queue an event; it is written to the outbox inside this transaction, just before commit. */
  emit(event: PendingEvent): void;
  /** Queue a kick; written to the kicks table inside this transaction, just before commit. */
  kick(kick: PendingKick): void;
  /** Run after a successful commit (cache invalidation, waking the publisher); never on rollback. */
  afterCommit(fn: () => void): void;
  /** Publish on the invalidation bus at commit; never on rollback. */
  invalidate(message: string): void;
}

/** What a commit carried: `transactions` (several when SQLite groups them) and the events and kicks they wrote. */
export interface Commit {
  transactions: number;
  events: number;
  /** Kick rows the commit wrote. */
  kicks: number;
}

/** One database, as seen through its executor type `E` and tables `T` (each adapter has its own). */
export interface DatabaseOf<E, T> {
  readonly dialect: Dialect;
  readonly tables: T;
  /** Reads outside a transaction: see only committed data. */
  readonly read: E;
  /**
   * Every write goes through here: one transaction, events appended to the outbox before commit
   * (src/db/outbox-append.ts), bounded retry when the database is busy (SQLite: another process
   * holds the write lock; Postgres: a serialization failure or a deadlock). `fn` may run more than
   * once, so it must not have effects outside `tx`.
   */
  transact<R>(fn: (tx: TxOf<E>) => Promise<R>): Promise<R>;
  /**
   * Cache coherence between instances on one database (in process on SQLite, LISTEN/NOTIFY on
   * Postgres). Inside a transaction, publish with `tx.invalidate` instead of `bus.publish`.
   */
  readonly bus: InvalidationBus;
  /**
   * Subscribes to commits: `listener` runs after each commit (after the transactions' own
   * after-commit hooks and invalidations), before their callers resume. A listener's exception is
   * logged, never thrown. Returns the unsubscribe.
   */
  onCommitted(listener: (commit: Commit) => void): () => void;
  close(): Promise<void>;
  /** Committed transactions and the commits that carried them (several per commit when grouped). */
  readonly stats?: { transactions: number; commits: number };
}

/** The database as repositories and services see it (the portable executor, src/db/portable.ts). */
export type Database = DatabaseOf<Executor, Tables>;
export type Tx = TxOf<Executor>;
