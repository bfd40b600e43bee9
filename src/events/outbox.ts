import { asc, count, inArray, lt } from "drizzle-orm";
import { type Database, type Executor, type PendingEvent, type Tables, executorOf } from "../db/database.ts";
import { nowMicros } from "../shared/time.ts";

/**
 * The outbox: events written in the same transaction as the change they describe, deleted once
 * the broker has acknowledged them. This file is the only code that speaks SQL to the table; it is
 * written with Drizzle's dialect-neutral builder so the same queries run on Postgres.
 */

/**
 * Serialises an event for the outbox: the payload plus `occurred_at` in integer Unix nanoseconds,
 * written as exact digits (a JS number cannot hold nanoseconds since 1970 exactly).
 */
export function encodePayload(payload: Record<string, unknown>, occurredAtMicros: number): string {
  const json = JSON.stringify(payload);
  const ns = (BigInt(occurredAtMicros) * 1000n).toString();
  return json.length > 2 ? `${json.slice(0, -1)},"occurred_at":${ns}}` : `{"occurred_at":${ns}}`;
}

/** Appends a transaction's events to the outbox (called by the transaction helper before commit). */
export async function appendToOutbox(db: Executor, tables: Tables, events: PendingEvent[]): Promise<void> {
  const at = nowMicros();
  const rows = events.map((e) => ({ stream: e.stream, entityId: e.entityId, payload: encodePayload(e.payload, at), createdAt: at }));
  for (let i = 0; i < rows.length; i += 500) await db.insert(tables.outbox).values(rows.slice(i, i + 500));
}

export interface OutboxRow {
  seq: number;
  stream: string;
  entityId: string;
  /** The JSON text to publish, `occurred_at` included. */
  payload: string;
}

/** Events handed to one publisher, oldest first, until it acknowledges them. */
export interface OutboxBatch {
  readonly rows: OutboxRow[];
  /**
   * Deletes the rows the broker acknowledged (and only those) and ends the claim; the others stay
   * and come back in a later batch. Returns how many rows were deleted.
   */
  acknowledge(seqs: number[]): Promise<number>;
}

export interface Outbox {
  /** The oldest undelivered events, in `seq` order, at most `limit`. */
  claim(limit: number): Promise<OutboxBatch>;
  /** Deletes the `n` oldest events (the cap); returns how many were deleted. */
  dropOldest(n: number): Promise<number>;
  /** Exact number of rows. A full count: called at start-up, not per event. */
  count(): Promise<number>;
}

/** Chunk size of deletes, so a statement stays under every dialect's bound-parameter limit. */
const DELETE_CHUNK = 500;

/**
 * The outbox of one database. On SQLite one process owns the file, so a claim is a plain read of
 * the oldest rows and the publisher's in-order loop is the only consumer. Several instances
 * draining one Postgres outbox (issue 8) change `claim` alone: it opens a transaction that
 * selects `FOR UPDATE SKIP LOCKED`, skipping rows whose entity (`entity_id`) has an older row still
 * in the table (so per-entity order holds), and `acknowledge` deletes and commits it.
 */
export function createOutbox(db: Database): Outbox {
  const { outbox } = db.tables;

  async function deleteSeqs(seqs: number[]): Promise<number> {
    if (seqs.length === 0) return 0;
    return db.transact(async (tx) => {
      let deleted = 0;
      for (let i = 0; i < seqs.length; i += DELETE_CHUNK) {
        const rows = await executorOf(tx)
          .delete(outbox)
          .where(inArray(outbox.seq, seqs.slice(i, i + DELETE_CHUNK)))
          .returning({ seq: outbox.seq });
        deleted += rows.length;
      }
      return deleted;
    });
  }

  return {
    async claim(limit) {
      const rows = await db.read
        .select({ seq: outbox.seq, stream: outbox.stream, entityId: outbox.entityId, payload: outbox.payload })
        .from(outbox)
        .orderBy(asc(outbox.seq))
        .limit(limit);
      return { rows, acknowledge: deleteSeqs };
    },

    dropOldest(n) {
      if (n <= 0) return Promise.resolve(0);
      // One transaction: the cut-off and the delete see the same rows.
      return db.transact(async (tx) => {
        const exec = executorOf(tx);
        const [cut] = await exec.select({ seq: outbox.seq }).from(outbox).orderBy(asc(outbox.seq)).limit(1).offset(n);
        const query = exec.delete(outbox);
        const rows = await (cut ? query.where(lt(outbox.seq, cut.seq)) : query).returning({ seq: outbox.seq });
        return rows.length;
      });
    },

    async count() {
      const [row] = await db.read.select({ n: count() }).from(outbox);
      return row?.n ?? 0;
    },
  };
}
