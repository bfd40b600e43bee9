import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type { TxHandle } from "../shared/tx.ts";
import type { InvalidationBus } from "./invalidation.ts";
import type { pgSchema } from "./schema.pg.ts";
import type { sqliteSchema } from "./schema.sqlite.ts";

/**
 * What repositories are written against. The SQLite flavour is the static type; the Postgres
 * database (src/db/postgres.ts) is the same query-builder API over the twin tables of
 * schema.pg.ts, so repositories stay one implementation and branch on `dialect` only where SQL
 * itself differs (JSON containment, row locks, …; see src/db/sql.ts).
 */
export type Executor = BunSQLiteDatabase<typeof sqliteSchema>;
export type Tables = typeof sqliteSchema;
export type Dialect = "sqlite" | "postgres";

/** The Postgres view of an executor, for the statements only Postgres has (`FOR UPDATE SKIP LOCKED`, raw `execute`). */
export type PgExecutor = PostgresJsDatabase<typeof pgSchema>;
export type PgTables = typeof pgSchema;
/** Only where `db.dialect === "postgres"`. */
export const asPg = (exec: Executor): PgExecutor => exec as unknown as PgExecutor;

/** An event row destined for the outbox, written in the same transaction as the change. */
export interface PendingEvent {
  stream: string;
  entityId: string;
  payload: Record<string, unknown>;
}

/** The scope of one write transaction. */
export interface Tx extends TxHandle {
  readonly db: Executor;
  /** Queue an event; it is written to the outbox inside this transaction, just before commit. */
  emit(event: PendingEvent): void;
  /** Run after a successful commit (cache invalidation, waking the publisher); never on rollback. */
  afterCommit(fn: () => void): void;
  /** Publish on the invalidation bus at commit; never on rollback. */
  invalidate(message: string): void;
}

export interface Database {
  readonly dialect: Dialect;
  readonly tables: Tables;
  /** Reads outside a transaction: see only committed data. */
  readonly read: Executor;
  /**
   * Every write goes through here: one transaction, events appended before commit, bounded
   * retry when the database is busy (SQLite: another process holds the write lock; Postgres: a
   * serialization failure or a deadlock). `fn` may run more than once, so it must not have
   * effects outside `tx`.
   */
  transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Cache coherence between instances on one database (in process on SQLite, LISTEN/NOTIFY on
   * Postgres). Inside a transaction, publish with `tx.invalidate` instead of `bus.publish`.
   */
  readonly bus: InvalidationBus;
  close(): Promise<void>;
  /** Committed transactions and the commits that carried them (several per commit when grouped). */
  readonly stats?: { transactions: number; commits: number };
}

/** Writes a transaction's pending events; installed by the events module. */
export type OutboxWriter = (db: Executor, tables: Tables, events: PendingEvent[]) => Promise<void>;

export class TxScope implements Tx {
  readonly events: PendingEvent[] = [];
  readonly commitHooks: (() => void)[] = [];
  readonly invalidations: string[] = [];
  constructor(readonly db: Executor) {}
  emit(event: PendingEvent): void {
    this.events.push(event);
  }
  afterCommit(fn: () => void): void {
    this.commitHooks.push(fn);
  }
  invalidate(message: string): void {
    this.invalidations.push(message);
  }
  runCommitHooks(onError: (err: unknown) => void): void {
    for (const fn of this.commitHooks) {
      try {
        fn();
      } catch (err) {
        onError(err);
      }
    }
  }
}

/** The executor behind a service's opaque transaction handle (only repositories call this). */
export function executorOf(tx: TxHandle): Executor {
  return (tx as Tx).db;
}
