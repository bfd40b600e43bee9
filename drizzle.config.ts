import { defineConfig } from "drizzle-kit";

// `npm run db:generate` regenerates both migration folders from the two schema files.
// drizzle-kit reads one dialect per config; DIALECT picks it (scripts run both).
const pg = process.env.DIALECT === "postgres";

export default defineConfig(
  pg
    ? { dialect: "postgresql", schema: "./src/db/schema/postgres.ts", out: "./drizzle/postgres" }
    : { dialect: "sqlite", schema: "./src/db/schema/sqlite.ts", out: "./drizzle/sqlite" },
);
