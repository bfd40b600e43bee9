import { sql } from "drizzle-orm";
import type { TxHandle } from "../../domain/transaction.ts";
import { pgExecutorOf } from "./executor.ts";

/**
 * The entity counters of migration 0003 (`entity_counts`, kept by triggers on clients and
 * channels: per statement for inserts and deletes since 0008, per row for updates), around a bulk
 * load in ONE transaction (`import`). Every insert's trigger updates the same few counter rows;
 * inside one transaction each update adds a row version that no one can prune until the commit,
 * so (per row, before 0008) the n-th insert walked n versions: an import of 100,000 clients took
 * minutes, one of a million would not end. So the load runs with those triggers off and the
 * counters are counted again from the tables at the end, in the same transaction: all of it
 * commits, or none (the triggers included: ALTER TABLE is transactional on Postgres). The import
 * already refuses to run while service instances are connected; the table locks this takes would
 * make them wait meanwhile.
 */
const COUNTED = [
  { table: "clients", kind: "client" },
  { table: "channels", kind: "channel" },
] as const;
/** The statement-level counter triggers the load turns off (0008: `<table>_counts_insert`, `_delete`). */
const TRIGGERED = ["insert", "delete"] as const;
/** Bucket levels and their shifts of the list time (as the trigger and migration 0003 count them). */
const LEVELS = [
  [1, 42],
  [2, 32],
  [3, 22],
] as const;

export async function countersOff(tx: TxHandle): Promise<void> {
  const exec = pgExecutorOf(tx);
  for (const { table } of COUNTED) for (const op of TRIGGERED) await exec.execute(sql.raw(`ALTER TABLE "${table}" DISABLE TRIGGER "${table}_counts_${op}"`));
}

export async function countersRecounted(tx: TxHandle): Promise<void> {
  const exec = pgExecutorOf(tx);
  await exec.execute(sql.raw(`DELETE FROM entity_counts WHERE kind IN (${COUNTED.map((c) => `'${c.kind}'`).join(", ")})`));
  for (const { table, kind } of COUNTED) {
    for (const [level, shift] of LEVELS)
      await exec.execute(
        sql.raw(
          `INSERT INTO entity_counts (kind, domain_id, status, level, bucket, stripe, n) SELECT '${kind}', domain_id, status, ${level}, (CASE WHEN updated_at IS NULL THEN created_at ELSE updated_at END) >> ${shift}, 0, count(*) FROM "${table}" GROUP BY 2, 3, 5`,
        ),
      );
    for (const op of TRIGGERED) await exec.execute(sql.raw(`ALTER TABLE "${table}" ENABLE TRIGGER "${table}_counts_${op}"`));
  }
}
