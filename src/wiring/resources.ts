/**
 * What the service runs — the database, the event publisher, the listeners — as a list of
 * resources started in order and stopped in reverse: on shutdown, and on a failed start (what
 * had started by then). src/main.ts adds one with one line: `await resources.start(x(...))`.
 */
export interface Resource<T = void> {
  readonly name: string;
  /**
   * The resources of one group stop together (concurrently), when the newest of them is due: the
   * listeners stop accepting at the same moment, before whatever started between them stops.
   */
  readonly group?: string;
  start(): T | Promise<T>;
  /**
   * `graceful`: a shutdown (let in-flight work finish, flush); otherwise a failed start being
   * unwound (stop at once).
   */
  stop(how: { graceful: boolean }): void | Promise<void>;
}

export class Resources {
  private readonly started: Resource<unknown>[] = [];

  /** Starts `resource` and remembers it for stopAll; resolves with what its start returned. */
  async start<T>(resource: Resource<T>): Promise<T> {
    const value = await resource.start();
    this.started.push(resource as Resource<unknown>);
    return value;
  }

  /**
   * Stops every started resource, newest first (a group together, at its newest member's turn).
   * A stop that fails does not keep the others from stopping; the first failure is thrown at the end.
   */
  async stopAll(how: { graceful: boolean }): Promise<void> {
    let failure: { err: unknown } | undefined;
    while (this.started.length > 0) {
      const last = this.started.pop()!;
      const batch = [last];
      if (last.group !== undefined)
        for (let i = this.started.length - 1; i >= 0; i--) if (this.started[i]!.group === last.group) batch.push(...this.started.splice(i, 1));
      const results = await Promise.allSettled(batch.map(async (r) => r.stop(how)));
      for (const r of results) if (r.status === "rejected") failure ??= { err: r.reason };
    }
    if (failure) throw failure.err;
  }
}
