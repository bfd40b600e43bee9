import { SERVICE_APP_NAME } from "./connect.ts";
import type { PostgresDatabase } from "./open.ts";

/** Connections of running service instances to the same database (import refuses to run beside them). */
export async function serviceConnections(db: PostgresDatabase): Promise<number> {
  const [row] = await db.sql<{ n: string }[]>`
    SELECT count(*) AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name IN (${SERVICE_APP_NAME}, ${`${SERVICE_APP_NAME}/bus`})`;
  return Number(row?.n ?? 0);
}
