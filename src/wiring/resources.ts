/**
 * What the service runs — the database, the event publisher, the listeners — as a list of
 * resources started in order and stopped in reverse: on shutdown, and on a failed start (what
 * had started by then). src/main.ts adds one with one line: `await resources.start(x(...))`.
 */
export interface Resource<T = void> {
  readonly name: string;
  /**
   * Resources with the same group that were started one after the other stop together
   * (concurrently): the listeners stop accepting at the same moment.
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
   * Stops every started resource, newest first (a group together). A stop that fails does not
   * keep the others from stopping; the first failure is thrown at the end.
   */
  async stopAll(how: { graceful: boolean }): Promise<void> {
    let failure: { err: unknown } | undefined;
    while (this.started.length > 0) {
      const last = this.started.pop()!;
      const batch = [last];
      while (last.group !== undefined && this.started.at(-1)?.group === last.group) batch.push(this.started.pop()!);
      const results = await Promise.allSettled(batch.map(async (r) => r.stop(how)));
      for (const r of results) if (r.status === "rejected") failure ??= { err: r.reason };
    }
    if (failure) throw failure.err;
  }
}
