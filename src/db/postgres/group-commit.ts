import type { Sql } from "postgres";
import { combined, type GroupCommit, type InsertPart, MAX_PARAMS, mapCombined, type PipelinedStatement } from "./pipeline.ts";

/** At most this many transactions in one statement. */
const MAX_BATCH = 64;
/**
 * At most this many group statements awaiting their answer; the transactions that commit meanwhile
 * wait and join the next. Measured under the HTTP benchmark (64 connections): 1 left the server
 * idle between answers, 4 made smaller groups at more CPU per create than 2.
 */
const MAX_IN_FLIGHT = 2;

interface Entry {
  held: PipelinedStatement[];
  parts: InsertPart[];
  notifications: [string, string][];
  params: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of the transactions that only insert (a create: the entity, its built-in role, the
 * role's actions and member, the outbox event) — as the SQLite adapter commits every write
 * (src/db/sqlite/group-commit.ts). Those committing at the same moment — in the same turn of the
 * event loop, or while MAX_IN_FLIGHT earlier groups are still awaited — go out as ONE autocommitted
 * statement: per table one insert of all their rows (a data-modifying CTE), all their NOTIFYs in its
 * SELECT. Postgres then plans, starts, checks and commits once for all of them instead of once each:
 * the per-statement work (executor start, locks, the commit record and its flush, the round trip)
 * was half of a create's cost on the server.
 *
 * Each transaction still commits entirely or not at all, and its promise settles only after that
 * commit. If the group statement fails with an error of the server (a unique violation of one of
 * them…), nothing of it was written, and each transaction is sent again on its own: the one at
 * fault gets its own error, mapped by its inserts' `onError`, the others commit. A failure without
 * an answer of the server (the connection lost) is every member's, as it would have been alone.
 */
export class PgGroupCommit implements GroupCommit {
  private queue: Entry[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly pool: Sql) {}

  /** Commits a transaction made only of inserts from templates (each `insert` set) and NOTIFYs, within MAX_PARAMS. */
  commit(held: PipelinedStatement[], notifications: [string, string][]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const parts: InsertPart[] = [];
      let params = notifications.length * 2;
      for (const s of held) {
        parts.push({ template: s.insert!.template, rows: s.insert!.rows, params: s.params });
        params += s.params.length;
      }
      this.queue.push({ held, parts, notifications, params, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // One turn of the event loop: the requests read meanwhile reach their commit and join.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      let n = 0;
      let params = 0;
      while (n < this.queue.length && n < MAX_BATCH && (n === 0 || params + this.queue[n]!.params <= MAX_PARAMS)) params += this.queue[n++]!.params;
      // A power of two: each size is a statement text of its own, prepared on each connection.
      const batch = this.queue.splice(0, 2 ** Math.floor(Math.log2(n)));
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async send(batch: Entry[]): Promise<void> {
    if (batch.length === 1) return this.alone(batch[0]!);
    const statement = merged(batch);
    if (!statement) {
      await Promise.all(batch.map((e) => this.alone(e)));
      return;
    }
    try {
      await this.pool.unsafe(statement.text, statement.params as never[], { prepare: true });
    } catch (err) {
      // The server refused the statement: none of it happened. Each on its own, for its own answer.
      if (serverError(err)) await Promise.all(batch.map((e) => this.alone(e)));
      else for (const e of batch) e.reject(mapCombined(e.held, err));
      return;
    }
    for (const e of batch) e.resolve();
  }

  private async alone(e: Entry): Promise<void> {
    const statement = combined(e.parts, e.notifications)!;
    try {
      await this.pool.unsafe(statement.text, statement.params as never[], { prepare: true });
      e.resolve();
    } catch (err) {
      e.reject(mapCombined(e.held, err));
    }
  }
}

/** The batch's inserts merged per template (one CTE each, in order of first use) and all its NOTIFYs. */
function merged(batch: Entry[]): { text: string; params: unknown[] } | undefined {
  const byShape = new Map<string, InsertPart & { params: unknown[] }>();
  const notifications = new Map<string, [string, string]>();
  for (const e of batch) {
    for (const p of e.parts) {
      const group = byShape.get(p.template.shape);
      if (group) {
        group.rows += p.rows;
        for (const v of p.params) group.params.push(v);
      } else byShape.set(p.template.shape, { template: p.template, rows: p.rows, params: [...p.params] });
    }
    // Postgres delivers a transaction's identical notifications once: the same here.
    for (const n of e.notifications) notifications.set(`${n[0]}\u0000${n[1]}`, n);
  }
  return combined([...byShape.values()], [...notifications.values()]);
}

/** An error the server answered with (a SQLSTATE), as opposed to one of the connection. */
function serverError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === "PostgresError";
}
