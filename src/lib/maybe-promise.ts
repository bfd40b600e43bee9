/**
 * A value that is ready now (SQLite answers synchronously) or later (Postgres). The hot path
 * branches on it instead of awaiting, so a cache miss on SQLite costs no promise and no tick.
 */
export type MaybePromise<T> = T | Promise<T>;

export function then<T, U>(value: MaybePromise<T>, fn: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}
