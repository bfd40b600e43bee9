import type { Sql } from "postgres";

/**
 * The pool as Drizzle should see it: every statement it sends becomes a prepared statement that
 * postgres.js keeps per connection (keyed by the SQL text), inside transactions too. Drizzle asks
 * for unnamed, re-parsed statements unless a query is prepared under a name; on the hot paths the
 * parse and plan cost as much as the lookup itself (a GET by id ran at half the speed).
 */
export function preparing(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === "unsafe")
        return (query: string, params?: unknown[], options?: object) => target.unsafe(query, params as never, { ...options, prepare: true });
      if (prop === "begin")
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown;
          return (target.begin as (...a: unknown[]) => unknown)(...args, (tx: Sql) => fn(preparing(tx)));
        };
      if (prop === "savepoint")
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown;
          return (target as unknown as { savepoint: (...a: unknown[]) => unknown }).savepoint(...args, (tx: Sql) => fn(preparing(tx)));
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}
