import { PostgresJsSession, PostgresJsTransaction } from "drizzle-orm/postgres-js";
import type { ReservedSql } from "postgres";
import type { PgExecutor } from "../executors.ts";

/**
 * One Postgres write transaction's pipeline. The statements whose answer nobody reads — BEGIN, the
 * inserts of `insertRows`, the outbox rows, the NOTIFYs, COMMIT — are sent on the transaction's
 * connection without waiting for each answer: postgres.js pipelines them and Postgres runs them in
 * the order sent, so a create (entity, built-in role, its actions and member, event, notice) is one
 * round trip instead of eight. A statement the transaction awaits (a read, an update) goes after
 * them on the same connection, so it sees their rows.
 *
 * Nothing is lost by not waiting: a statement that fails aborts the transaction as it would have,
 * and its error — mapped by its sender's `onError`, as if it had been thrown at once — is what the
 * transaction throws, at the latest at COMMIT (which then rolls back).
 */
export class PgPipeline {
  private pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly client: ReservedSql) {}

  /** Sends `text` now, in order after everything sent before; its answer is awaited by `settle`. */
  send(text: string, params: readonly unknown[], onError?: (err: unknown) => unknown, onResult?: (result: { command: string }) => void): void {
    // `then` at once (a postgres.js query starts when it is awaited): the statements go out in the
    // order they were sent, before any statement the transaction awaits afterwards.
    const q = this.client.unsafe(text, params as never[], { prepare: true });
    this.pending.push(
      q.then(
        (result) => onResult?.(result as unknown as { command: string }),
        (err: unknown) => {
          this.failure ??= { error: onError ? onError(err) : err };
        },
      ),
    );
  }

  /** Waits for every statement sent so far; throws the first one's error, if one failed. */
  async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    if (this.failure) throw this.failure.error;
  }

  /** After the transaction failed: the error of a statement sent before it, if one failed first. */
  async firstFailure(): Promise<{ error: unknown } | undefined> {
    await Promise.all(this.pending);
    return this.failure;
  }
}

const pipelines = new WeakMap<object, PgPipeline>();

/** The pipeline of the transaction `exec` belongs to (undefined for the pool or a SQLite executor). */
export function pipelineOf(exec: object): PgPipeline | undefined {
  return pipelines.get(exec);
}

interface DrizzleInternals {
  session: { dialect: unknown; schema: unknown; options: unknown };
}

/**
 * A Drizzle transaction over a reserved connection (`sessionClient`: as Drizzle should see it,
 * `client`: as the pipeline sends on it) whose BEGIN the caller sends, built as Drizzle's own
 * `transaction` builds one, with its pipeline.
 */
export function pipelinedTransaction(pool: PgExecutor, sessionClient: ReservedSql, client: ReservedSql): { exec: PgExecutor; pipeline: PgPipeline } {
  const { dialect, schema, options } = (pool as unknown as DrizzleInternals).session;
  const session = new PostgresJsSession(sessionClient, dialect as never, schema as never, options as never);
  const exec = new PostgresJsTransaction(dialect as never, session as never, schema as never) as unknown as PgExecutor;
  const pipeline = new PgPipeline(client);
  pipelines.set(exec, pipeline);
  return { exec, pipeline };
}
