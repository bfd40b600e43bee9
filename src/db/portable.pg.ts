import type { PgExecutor, PgTables } from "./executors.ts";

/** The Postgres reading of src/db/portable.ts, for `tsc -p tsconfig.postgres.json` (see there). */
export type Executor = PgExecutor;
export type Tables = PgTables;
