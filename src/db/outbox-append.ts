import { nowMicros } from "../domain/time.ts";
import type { PendingEvent, PendingKick } from "./database.ts";
import type { PgExecutor, PgTables, SqliteExecutor, SqliteTables } from "./executors.ts";
import { insertRows } from "./queries/insert.ts";

/**
 * The write side of the outbox: each adapter appends a transaction's events here, inside the
 * transaction, just before its commit (DESIGN decision 6). The publisher's side — claim, deliver,
 * acknowledge, cap — is src/events/outbox.ts.
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

/** Appends a transaction's events to the outbox. */
async function appendToOutbox(exec: SqliteExecutor | PgExecutor, outbox: SqliteTables["outbox"] | PgTables["outbox"], events: PendingEvent[]): Promise<void> {
  const at = nowMicros();
  const rows = events.map((e) => ({ stream: e.stream, entityId: e.entityId, payload: encodePayload(e.payload, at), createdAt: at }));
  await insertRows(exec, outbox, rows);
}

/**
 * Appends a transaction's kicks (one per client, src/db/transaction.ts): the same shape as the
 * outbox, `stream` = the revoking change, `entity_id` = the client.
 */
async function appendKicks(exec: SqliteExecutor | PgExecutor, kicks: SqliteTables["kicks"] | PgTables["kicks"], pending: PendingKick[]): Promise<void> {
  const at = nowMicros();
  const rows = pending.map((k) => ({
    stream: k.reason,
    entityId: k.clientId,
    payload: JSON.stringify({ id: k.clientId, domain: k.domainId, reason: k.reason }),
    createdAt: at,
  }));
  await insertRows(exec, kicks, rows);
}

/** What a transaction queued for its commit: its events and its kicks (called by the adapter just before commit). */
export async function appendQueued(
  exec: SqliteExecutor | PgExecutor,
  tables: Pick<SqliteTables, "outbox" | "kicks"> | Pick<PgTables, "outbox" | "kicks">,
  queued: { events: PendingEvent[]; kicks: PendingKick[] },
): Promise<void> {
  if (queued.events.length > 0) await appendToOutbox(exec, tables.outbox, queued.events);
  if (queued.kicks.length > 0) await appendKicks(exec, tables.kicks, queued.kicks);
}
