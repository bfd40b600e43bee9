import type { TxHandle } from "../domain/transaction.ts";
import type { Logger } from "../log/logger.ts";
import type { Commit, PendingEvent, PendingKick, TxOf } from "./database.ts";
import type { Executor } from "./portable.ts";

/** One attempt of a write transaction: what it queued for the commit (both adapters run it). */
export class TxScope<E> implements TxOf<E> {
  readonly events: PendingEvent[] = [];
  readonly kicks: PendingKick[] = [];
  readonly commitHooks: (() => void)[] = [];
  readonly invalidations: string[] = [];
  constructor(readonly db: E) {}
  emit(event: PendingEvent): void {
    this.events.push(event);
  }
  private kicked: Set<string> | undefined;
  /** One kick per client per transaction, however many of its changes revoked it. */
  kick(kick: PendingKick): void {
    this.kicked ??= new Set();
    if (this.kicked.has(kick.clientId)) return;
    this.kicked.add(kick.clientId);
    this.kicks.push(kick);
  }
  afterCommit(fn: () => void): void {
    this.commitHooks.push(fn);
  }
  invalidate(message: string): void {
    this.invalidations.push(message);
  }
  runCommitHooks(onError: (err: unknown) => void): void {
    for (const fn of this.commitHooks) {
      try {
        fn();
      } catch (err) {
        onError(err);
      }
    }
  }
}

/** The executor behind a service's opaque transaction handle (only repositories call this). */
export function executorOf(tx: TxHandle): Executor {
  return (tx as TxOf<Executor>).db;
}

/** The subscribers of a database's commits (`Database.onCommitted`). */
export class CommitListeners {
  private readonly listeners = new Set<(commit: Commit) => void>();
  constructor(private readonly logger: Logger) {}

  add(listener: (commit: Commit) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  notify(commit: Commit): void {
    for (const listener of this.listeners) {
      try {
        listener(commit);
      } catch (err) {
        this.logger.error("events-committed notification failed", { error: err });
      }
    }
  }
}
