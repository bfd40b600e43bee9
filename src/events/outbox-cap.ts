import type { Logger } from "../log/logger.ts";
import type { EventMetrics } from "../metrics/metrics.ts";
import type { Outbox } from "./outbox.ts";
import type { OutboxDepth } from "./outbox-depth.ts";
import type { PublisherTuning } from "./tuning.ts";

/**
 * MG_CLIENTS_ES_OUTBOX_MAX_ROWS: past the cap, the oldest undelivered events are deleted, a chunk
 * per transaction, with one warning per warnEveryMs at most (and one more at stop for the rest).
 */
export class OutboxCap {
  private counted = 0;
  private lastDropWarn = 0;
  private droppedUnlogged = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly maxRows: number,
    private readonly depth: OutboxDepth,
    private readonly t: Pick<PublisherTuning, "dropChunk" | "warnEveryMs" | "recountMs">,
    private readonly logger: Logger,
    private readonly metrics: EventMetrics,
  ) {}

  /** Past the cap: delete the oldest undelivered events, a chunk per transaction. */
  async enforce(): Promise<void> {
    const { outbox, depth, maxRows } = this;
    // A shared outbox grows and shrinks through other instances too: ask the database (at most once a second).
    if (outbox.shared && Date.now() - this.counted >= this.t.recountMs) {
      this.counted = Date.now();
      depth.set(await outbox.count());
    }
    if (depth.value <= maxRows) return;
    let dropped = 0;
    while (depth.value > maxRows) {
      const n = await outbox.dropOldest(Math.min(depth.value - maxRows, this.t.dropChunk));
      if (n === 0) {
        depth.set(await outbox.count());
        break;
      }
      depth.set(depth.value - n);
      dropped += n;
    }
    if (dropped === 0) return;
    this.metrics.dropped.inc(dropped);
    this.droppedUnlogged += dropped;
    if (Date.now() - this.lastDropWarn >= this.t.warnEveryMs) {
      this.lastDropWarn = Date.now();
      this.logger.warn("outbox past its cap: dropped the oldest undelivered events", { dropped: this.droppedUnlogged, max_rows: maxRows });
      this.droppedUnlogged = 0;
    }
  }

  /** At stop: what was dropped since the last warning. */
  reportUnlogged(): void {
    if (this.droppedUnlogged > 0)
      this.logger.warn("outbox past its cap: dropped the oldest undelivered events", { dropped: this.droppedUnlogged, max_rows: this.maxRows });
  }
}
