import type { Gauge } from "prom-client";

/**
 * Undelivered events, as the publisher tracks them (events_outbox_depth): exact for the one
 * process that owns a SQLite database; on a shared outbox recounted in the database now and then.
 */
export class OutboxDepth {
  private n = 0;
  constructor(private readonly gauge: Gauge) {}
  get value(): number {
    return this.n;
  }
  set(n: number): void {
    this.n = Math.max(0, n);
    this.gauge.set(this.n);
  }
}
