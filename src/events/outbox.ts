import { type Executor, type PendingEvent, type Tables } from "../db/database.ts";
import { nowMicros } from "../shared/time.ts";

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
