import type { SqliteExecutor, SqliteTables } from "./executors.ts";

/**
 * The query builder and tables that repositories are written against: one implementation for both
 * databases, since Drizzle's SQLite and Postgres builders share the API they use (repositories
 * branch on `db.dialect` only where the SQL itself differs, see src/db/queries/dialect-sql.ts).
 *
 * The type check runs twice: `tsc -p .` checks every repository against the SQLite builder (this
 * file), `tsc -p tsconfig.postgres.json` against the Postgres one (portable.pg.ts, which that
 * config's `moduleSuffixes` picks instead). A query either dialect's types reject fails `npm test`.
 * Types only: the code that runs is the same whichever of the two files a check reads.
 */
export type Executor = SqliteExecutor;
export type Tables = SqliteTables;
