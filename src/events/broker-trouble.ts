import type { Logger } from "../log/logger.ts";
import type { OutboxDepth } from "./outbox-depth.ts";

/** Warns once per `everyMs` while the broker stays away; the rest goes to debug. */
export class BrokerTrouble {
  private lastWarn = 0;
  constructor(
    private readonly logger: Logger,
    private readonly everyMs: number,
    private readonly shownUrl: string,
    private readonly depth: OutboxDepth,
  ) {}

  /** Logs `msg` (a warning when due, else debug); true when it warned. */
  report(msg: string, fields: Record<string, unknown>): boolean {
    const now = Date.now();
    if (now - this.lastWarn >= this.everyMs) {
      this.lastWarn = now;
      this.logger.warn(msg, { url: this.shownUrl, undelivered: this.depth.value, ...fields });
      return true;
    }
    this.logger.debug(msg, { url: this.shownUrl, undelivered: this.depth.value, ...fields });
    return false;
  }

  /** A fresh outage (or the broker is back): the next report warns at once. */
  reset(): void {
    this.lastWarn = 0;
  }
}
