/**
 * The transaction handle as services see it: opaque (no database types), able to queue events
 * and after-commit work. Repositories take it and run their SQL inside the same transaction.
 */
export interface TxHandle {
  emit(event: { stream: string; entityId: string; payload: Record<string, unknown> }): void;
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
