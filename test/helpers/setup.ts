import { afterAll } from "bun:test";
import { dropRunDatabases, onPostgres } from "./backend.ts";

/**
 * Preloaded before every test file (bunfig.toml). On Postgres, drops every database this run
 * created once all tests are done, whether they passed or not.
 */
if (onPostgres) {
  afterAll(async () => {
    await dropRunDatabases();
  }, 60_000);
}
