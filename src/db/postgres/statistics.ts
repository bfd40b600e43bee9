import type { Sql } from "postgres";
import type { Logger } from "../../log/logger.ts";

/**
 * Keeps the planner's statistics current, the way SQLite's PRAGMA optimize does there. Postgres's
 * autovacuum analyzes a table only a minute or more after it changed enough, and until then the
 * planner works without statistics: postgres.js prepares every statement, and a generic plan
 * chosen that way for a point lookup (`domain_id = $1 AND id = $2`) was seen scanning the whole
 * domain through `clients_parent_idx` — GET one client 7× slower after 10,000 creates, until an
 * ANALYZE (which also makes every cached plan of the table be planned again). At start-up and
 * after writes (src/db/statistics.ts), this analyzes the tables autovacuum's own rule calls stale
 * (rows modified since the last analysis ≥ 50 + 10 % of the live rows) — a sampled scan of those
 * tables only. Never throws: a failure is a warning.
 */
export async function analyzeStale(pool: Sql, logger: Logger): Promise<void> {
  try {
    const stale = await pool<{ relname: string }[]>`
      SELECT relname FROM pg_stat_user_tables
      WHERE schemaname = current_schema() AND n_mod_since_analyze >= 50 + 0.1 * n_live_tup`;
    if (stale.length === 0) return;
    await pool.unsafe(`ANALYZE ${stale.map((t) => `"${t.relname.replaceAll('"', '""')}"`).join(", ")}`);
    logger.debug("analyzed tables", { tables: stale.map((t) => t.relname) });
  } catch (err) {
    logger.warn("could not refresh the planner statistics", { error: err });
  }
}
