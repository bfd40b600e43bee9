/** How long to wait before a retry: `baseMs` doubled per attempt, at most `maxMs`, with jitter. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /**
   * none: exactly that delay; full: uniformly between 0 and it (spreads retries that collided);
   * equal: between half of it and all of it (spreads them, yet keeps backing off).
   */
  jitter?: "none" | "full" | "equal";
}

/**
 * The delay before retry `attempt` (0: the first retry) under `policy`. Every loop of the service
 * that retries (the event publisher's reconnects, the invalidation listener's, SQLite's busy write
 * lock, Postgres's conflicts) waits this.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  switch (policy.jitter ?? "none") {
    case "none":
      return ceiling;
    case "full":
      return Math.random() * ceiling;
    case "equal":
      return ceiling / 2 + (Math.random() * ceiling) / 2;
  }
}
