/**
 * The transaction handle as services see it: opaque (no database types), able to queue events
 * and after-commit work. Repositories take it and run their SQL inside the same transaction.
 */
export interface TxHandle {
  emit(event: { stream: string; entityId: string; payload: Record<string, unknown> }): void;
  /**
   * Queues a kick of the client's live broker sessions, written in this transaction and carried
   * out after commit (src/broker/kicker.ts); never on rollback.
   */
  kick(kick: { clientId: string; domainId: string; reason: string }): void;
  afterCommit(fn: () => void): void;
  /**
   * Publishes a cache-invalidation message on the bus (src/db/invalidation/bus.ts) when, and only if,
   * the transaction commits: to this instance's subscribers before `transact` resolves, and to
   * every other instance on the database (Postgres: NOTIFY, delivered by the commit itself).
   */
  invalidate(message: string): void;
}

export interface Transactor {
  transact<T>(fn: (tx: TxHandle) => Promise<T>): Promise<T>;
}
