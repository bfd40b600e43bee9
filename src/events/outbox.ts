import { asc, count, inArray, lt, sql } from "drizzle-orm";
import type { Commit, Database } from "../db/database.ts";
import type { Executor, Tables } from "../db/portable.ts";
import { pgExecutorOf } from "../db/postgres/executor.ts";
import { executorOf } from "../db/transaction.ts";

/**
 * The outbox: events written in the same transaction as the change they describe, deleted once
 * the broker has acknowledged them. The rows are appended by the database's transactions
 * (src/db/outbox-append.ts); this file is the publisher's side of the table, written with
 * Drizzle's dialect-neutral builder so the same queries run on Postgres.
 */

interface OutboxRow {
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
   * and come back in a later batch. Returns how many rows were deleted. Must be called exactly
   * once per batch, also with [] (on Postgres the claim holds a transaction until then).
   */
  acknowledge(seqs: number[]): Promise<number>;
}

export interface Outbox {
  /**
   * Several publishers may drain this outbox at once (Postgres): claims exclude each other, and
   * the row count is only known by asking the database.
   */
  readonly shared: boolean;
  /** The oldest undelivered events, in `seq` order, at most `limit`. */
  claim(limit: number): Promise<OutboxBatch>;
  /** Deletes the `n` oldest events (the cap) that nobody has claimed; returns how many were deleted. */
  dropOldest(n: number): Promise<number>;
  /** Exact number of rows. A full count: at start-up, and at most once a second when shared. */
  count(): Promise<number>;
  /**
   * After each commit that appended events, with how many, once they are visible (wakes the
   * publisher, so it never has to poll the outbox hot). Returns the unsubscribe.
   */
  onAppended(listener: (count: number) => void): () => void;
}

/** Chunk size of deletes, so a statement stays under every dialect's bound-parameter limit. */
const DELETE_CHUNK = 500;

/**
 * The outbox of one database.
 *
 * SQLite: one process owns the file, so a claim is a plain read of the oldest rows and the
 * publisher's in-order loop is the only consumer.
 *
 * Postgres, several instances draining one outbox: a claim is a transaction that locks the oldest
 * rows nobody else holds (`FOR UPDATE SKIP LOCKED`) and stays open until `acknowledge` deletes the
 * acknowledged rows and commits. Another instance's claim skips the locked rows, so no row is
 * handed to two publishers (a row is published twice only when its delete is lost: a crash or a
 * lost connection after the broker acknowledged it). Per-entity order: a claim also leaves out
 * every row whose entity (`entity_id`) has an older row held by another claim; those come back
 * once that one is deleted (or released, unacknowledged, to be claimed again first). Rows are
 * never skipped for good: whatever is not deleted stays and is claimed again, oldest first.
 */
export function createOutbox(db: Database): Outbox {
  return rowQueue(db, db.tables.outbox, (c) => c.events);
}

/**
 * The kicks table (src/broker/kicker.ts) through the same claim / acknowledge / count: the outbox's
 * shape and mechanism, another consumer.
 */
export function createKickQueue(db: Database): Outbox {
  // Same columns as the outbox, another name: the queries below are the outbox's.
  return rowQueue(db, db.tables.kicks as unknown as Tables["outbox"], (c) => c.kicks);
}

function rowQueue(db: Database, outbox: Tables["outbox"], appendedIn: (c: Commit) => number): Outbox {
  const shared = db.dialect === "postgres";

  async function deleteIn(exec: Executor, seqs: number[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < seqs.length; i += DELETE_CHUNK) {
      const rows = await exec
        .delete(outbox)
        .where(inArray(outbox.seq, seqs.slice(i, i + DELETE_CHUNK)))
        .returning({ seq: outbox.seq });
      deleted += rows.length;
    }
    return deleted;
  }

  const deleteSeqs = (seqs: number[]): Promise<number> => (seqs.length === 0 ? Promise.resolve(0) : db.transact((tx) => deleteIn(executorOf(tx), seqs)));

  async function claimLocal(limit: number): Promise<OutboxBatch> {
    const rows = await db.read
      .select({ seq: outbox.seq, stream: outbox.stream, entityId: outbox.entityId, payload: outbox.payload })
      .from(outbox)
      .orderBy(asc(outbox.seq))
      .limit(limit);
    return { rows, acknowledge: deleteSeqs };
  }

  function claimShared(limit: number): Promise<OutboxBatch> {
    let handOut!: (batch: OutboxBatch) => void;
    const handed = new Promise<OutboxBatch>((resolve) => (handOut = resolve));
    let acknowledged!: (seqs: number[]) => void;
    const acks = new Promise<number[]>((resolve) => (acknowledged = resolve));
    let given = false;
    const done: Promise<number> = db.transact(async (tx) => {
      // The transaction helper retries conflicts; a batch already handed out must not be claimed twice.
      if (given) throw new Error("an outbox claim cannot be retried once handed out");
      const exec = executorOf(tx);
      const found = await pgExecutorOf(tx).execute<{ seq: string; stream: string; entity_id: string; payload: string }>(sql`
        WITH claimed AS MATERIALIZED (
          SELECT seq, entity_id FROM ${outbox} ORDER BY seq LIMIT ${limit} FOR UPDATE SKIP LOCKED
        ), held_elsewhere AS (
          SELECT entity_id, min(seq) AS first FROM ${outbox}
          WHERE seq < (SELECT max(seq) FROM claimed) AND seq NOT IN (SELECT seq FROM claimed)
          GROUP BY entity_id
        )
        SELECT o.seq, o.stream, o.entity_id, o.payload
        FROM ${outbox} o JOIN claimed c ON c.seq = o.seq
        WHERE NOT EXISTS (SELECT 1 FROM held_elsewhere h WHERE h.entity_id = c.entity_id AND h.first < c.seq)
        ORDER BY o.seq`);
      const rows = found.map((r) => ({ seq: Number(r.seq), stream: r.stream, entityId: r.entity_id, payload: r.payload }));
      given = true;
      handOut({
        rows,
        acknowledge: (seqs) => {
          acknowledged(seqs);
          return done;
        },
      });
      if (rows.length === 0) return 0;
      const claimed = new Set(rows.map((r) => r.seq));
      return deleteIn(
        exec,
        (await acks).filter((s) => claimed.has(s)),
      );
    });
    // A failure before the hand-out is the claim's failure; later ones surface from acknowledge.
    return Promise.race([handed, done.then(() => handed)]);
  }

  return {
    shared,

    claim: shared ? claimShared : claimLocal,

    dropOldest(n) {
      if (n <= 0) return Promise.resolve(0);
      if (shared) {
        // Rows another instance is publishing right now are not the cap's to take.
        return db.transact(async (tx) => {
          const rows = await pgExecutorOf(tx).execute(
            sql`DELETE FROM ${outbox} WHERE seq IN (SELECT seq FROM ${outbox} ORDER BY seq LIMIT ${n} FOR UPDATE SKIP LOCKED) RETURNING seq`,
          );
          return rows.length;
        });
      }
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

    onAppended: (listener) =>
      db.onCommitted((commit) => {
        const n = appendedIn(commit);
        if (n > 0) listener(n);
      }),
  };
}
