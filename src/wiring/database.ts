import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { openDatabase } from "../db/open.ts";
import type { Logger } from "../log/logger.ts";
import type { Resource } from "./resources.ts";

/** The configured database (src/db/open.ts): opened first, closed last. */
export function database(config: Config, logger: Logger): Resource<Database> {
  let db: Database | undefined;
  return {
    name: "database",
    async start() {
      db = await openDatabase(config.db, logger);
      return db;
    },
    stop: () => db?.close(),
  };
}
