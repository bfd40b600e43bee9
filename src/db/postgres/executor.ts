import { is } from "drizzle-orm";
import { PgDatabase } from "drizzle-orm/pg-core";
import type { TxHandle } from "../../domain/transaction.ts";
import type { TxOf } from "../database.ts";
import type { PgExecutor } from "../executors.ts";

/**
 * The Postgres executor behind a transaction handle, for the statements only Postgres has
 * (`FOR UPDATE SKIP LOCKED`, raw `execute`); only code that runs where `db.dialect === "postgres"`
 * calls it, and it throws on any other transaction.
 */
export function pgExecutorOf(tx: TxHandle): PgExecutor {
  const exec = (tx as TxOf<unknown>).db;
  if (!is(exec, PgDatabase)) throw new Error("not a Postgres transaction");
  return exec as PgExecutor;
}
