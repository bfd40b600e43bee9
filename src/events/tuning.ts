export interface PublisherTuning {
  /** Events in flight at once (pipelined on the one connection, so still in order). */
  batchSize: number;
  /** Safety-net poll while idle; commits wake the loop at once. */
  pollMs: number;
  /** Reconnect delay: doubles per failed attempt from min up to max (with jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
  /** A batch not acknowledged within this is treated as a dead connection. */
  ackTimeoutMs: number;
  keepaliveSeconds: number;
  /** Rows deleted per cap transaction, so the write lock is held briefly. */
  dropChunk: number;
  /** At most one warning per this interval for a persisting condition (broker away, cap). */
  warnEveryMs: number;
  /** Shared outbox (Postgres): how often the depth is counted again in the database. */
  recountMs: number;
}

export const DEFAULT_TUNING: PublisherTuning = {
  batchSize: 256,
  pollMs: 2000,
  backoffMinMs: 200,
  backoffMaxMs: 5000,
  connectTimeoutMs: 5000,
  ackTimeoutMs: 10_000,
  keepaliveSeconds: 15,
  dropChunk: 10_000,
  warnEveryMs: 60_000,
  recountMs: 1000,
};
