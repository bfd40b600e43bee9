import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTableConfig as pgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTable } from "drizzle-orm/sqlite-core";
import { knownMigrations } from "../src/db/migrations.ts";
import { PG_MIGRATIONS } from "../src/db/postgres/migrate.ts";
import { pgSchema } from "../src/db/schema/postgres.ts";
import { sqliteSchema } from "../src/db/schema/sqlite.ts";
import { SQLITE_MIGRATIONS } from "../src/db/sqlite/open.ts";
import { REPO, run } from "./helpers/process.ts";

const shape = (cfg: {
  name: string;
  columns: { name: string; notNull: boolean; primary: boolean; hasDefault: boolean }[];
  indexes: { config: { name?: string } }[];
}) => ({
  table: cfg.name,
  columns: cfg.columns
    .map((c) => ({ name: c.name, notNull: c.notNull, primary: c.primary, hasDefault: c.hasDefault }))
    .sort((a, b) => a.name.localeCompare(b.name)),
  indexes: cfg.indexes.map((i) => i.config.name ?? "").sort(),
});

describe("SQLite and Postgres schemas never drift", () => {
  test("same tables, same columns, nullability, keys, defaults and index names", () => {
    expect(Object.keys(pgSchema).sort()).toEqual(Object.keys(sqliteSchema).sort());
    for (const name of Object.keys(sqliteSchema) as (keyof typeof sqliteSchema)[]) {
      expect(shape(pgTable(pgSchema[name] as never))).toEqual(shape(sqliteTable(sqliteSchema[name] as never)));
    }
  });

  test("both dialects carry the same migrations, by tag and in order (a dump names its schema by tag)", () => {
    expect(knownMigrations(PG_MIGRATIONS).map((m) => m.tag)).toEqual(knownMigrations(SQLITE_MIGRATIONS).map((m) => m.tag));
  });

  test("the committed migrations are up to date with both schema files", async () => {
    // drizzle-kit compares the schema with the last snapshot; on a copy it must find nothing to do.
    const dir = mkdtempSync(join(tmpdir(), "mgc-schema-"));
    try {
      mkdirSync(join(dir, "src"));
      cpSync(join(REPO, "src/db"), join(dir, "src/db"), { recursive: true });
      cpSync(join(REPO, "src/domain"), join(dir, "src/domain"), { recursive: true });
      cpSync(join(REPO, "drizzle"), join(dir, "drizzle"), { recursive: true });
      cpSync(join(REPO, "drizzle.config.ts"), join(dir, "drizzle.config.ts"));
      symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
      const kit = join(REPO, "node_modules/.bin/drizzle-kit");
      for (const dialect of ["sqlite", "postgres"]) {
        const r = await run([kit, "generate", "--config", "drizzle.config.ts"], { DIALECT: dialect }, dir);
        expect(r.code).toBe(0);
        expect(r.stdout + r.stderr).toContain("No schema changes");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
