import { existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { installationKeyPath, readInstallationKey } from "../backup/format.ts";
import { createTempFile, releaseTempFile, removeStaleTempFiles } from "../backup/temp-files.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import { knownMigrations, type MigrationStatus, migrationStatus } from "../db/migrations.ts";
import { asDatabase, asExecutor } from "../db/open.ts";
import type { Executor } from "../db/portable.ts";
import { CLI_APP_NAME, describeTarget } from "../db/postgres/connect.ts";
import { serviceConnections } from "../db/postgres/instances.ts";
import { PG_MIGRATIONS, pgMigrationStatus } from "../db/postgres/migrate.ts";
import { openPostgres } from "../db/postgres/open.ts";
import { pgSchema } from "../db/schema/postgres.ts";
import { sqliteSchema } from "../db/schema/sqlite.ts";
import { openSqlite, SQLITE_MIGRATIONS } from "../db/sqlite/open.ts";
import { openSqliteReader, snapshotOf } from "../db/sqlite/reader.ts";
import type { Logger } from "../log/logger.ts";
import type { Progress } from "../progress/progress.ts";
import { checkDump, DumpError, exportDump, importDump, isEmpty, type SchemaOf } from "../transfer/dump.ts";

/** `export` and `import` for both drivers; each returns the one line to print. */

/** Where the rows are, as the messages name it. */
const targetOf = (config: Config) => (config.db.driver === "postgres" ? describeTarget(config.db.pg) : config.db.path);

const counts = (rows: Record<string, number>) =>
  Object.entries(rows)
    .map(([t, n]) => `${t} ${n}`)
    .join(", ");

/** The last migration of a database that is exactly up to date with this build, or a refusal. */
function upToDate(what: string, status: MigrationStatus): string {
  const notApplied = status.entries.filter((e) => e.state !== "applied");
  if (status.unknown.length > 0)
    throw new DumpError(`cannot export ${what}: it has migrations of a newer version of magistrala-clients; export it with that version`);
  if (notApplied.length > 0)
    throw new DumpError(
      `cannot export ${what}: its schema is not this build's (${notApplied.map((e) => `${e.tag} ${e.state}`).join(", ")}); run \`migrate\` first`,
    );
  const last = status.entries.at(-1);
  if (!last) throw new DumpError(`cannot export ${what}: this build has no migrations`);
  return last.tag;
}

export async function runExport(config: Config, file: string, logger: Logger, progress?: Progress): Promise<string> {
  const key = readInstallationKey(config.db.dataDir);
  if (!key)
    throw new DumpError(
      `no installation key in ${config.db.dataDir} (the folder of MG_CLIENTS_DB_PATH): the stored secrets are useless without it; export with the service's data directory`,
    );
  const what = targetOf(config);
  if (config.db.driver === "postgres") {
    const schema = upToDate(what, await pgMigrationStatus(config.db.pg, logger));
    const db = await openPostgres({ settings: config.db.pg, logger, migrate: false, applicationName: CLI_APP_NAME });
    try {
      // One REPEATABLE READ transaction: every table as of the same moment, while instances keep writing.
      const snapshot = <T>(fn: (exec: Executor) => Promise<T>) =>
        db.read.transaction((tx) => fn(asExecutor(tx)), { isolationLevel: "repeatable read", accessMode: "read only" });
      const r = await exportDump(asDatabase(db), { file, key, schema, snapshot, progress });
      return `exported ${what} to ${r.file}: ${counts(r.rows)}; the installation key is in it: keep the file private`;
    } finally {
      await db.close();
    }
  }
  if (!existsSync(config.db.path)) throw new DumpError(`no database at ${config.db.path} (check MG_CLIENTS_DB_PATH)`);
  // Read-only and without the lock: the service may keep running (WAL: one read transaction is a snapshot).
  const db = openSqliteReader(config.db.path, logger);
  try {
    const schema = upToDate(what, migrationStatus(db.readConnection, SQLITE_MIGRATIONS));
    const r = await exportDump(asDatabase(db), { file, key, schema, snapshot: (fn) => snapshotOf(db, () => fn(asExecutor(db.read))), progress });
    return `exported ${what} to ${r.file}: ${counts(r.rows)}; the installation key is in it: keep the file private`;
  } finally {
    await db.close();
  }
}

const PREVIOUS_KEY_SUFFIX = ".before-import";

export async function runImport(config: Config, file: string, opts: { merge: boolean; progress?: Progress }, logger: Logger): Promise<string> {
  const what = targetOf(config);
  if (!existsSync(file)) throw new DumpError(`cannot import ${file}: no such file`);
  // The whole file is checked before the database is even opened (or created): a bad dump changes nothing.
  const target: SchemaOf = config.db.driver === "postgres" ? { dialect: "postgres", tables: pgSchema } : { dialect: "sqlite", tables: sqliteSchema };
  const known = knownMigrations(config.db.driver === "postgres" ? PG_MIGRATIONS : SQLITE_MIGRATIONS).map((m) => m.tag);
  const checked = await checkDump(target, file, known, opts.progress);
  // Opening applies this build's migrations (SQLite: and takes the lock, refused while a service runs).
  let db: Database;
  if (config.db.driver === "postgres") {
    const pg = await openPostgres({ settings: config.db.pg, logger, applicationName: CLI_APP_NAME });
    db = asDatabase(pg);
    const running = await serviceConnections(pg).catch(async (err) => {
      await pg.close();
      throw err;
    });
    if (running > 0) {
      await pg.close();
      throw new DumpError(
        `cannot import into ${what}: ${running} connection${running === 1 ? "" : "s"} of running magistrala-clients instances; stop them first (their caches and installation keys would not follow)`,
      );
    }
  } else {
    db = asDatabase(openSqlite({ path: config.db.path, logger, owner: "import" }));
  }
  const keyPath = installationKeyPath(config.db.dataDir);
  removeStaleTempFiles(config.db.dataDir);
  let tmpKey: string | undefined;
  try {
    const existing = readInstallationKey(config.db.dataDir);
    let keyNote = "unchanged";
    if (!existing?.equals(checked.key)) {
      if (existing && opts.merge)
        throw new DumpError(
          `cannot import ${file}: its installation key is not the one of ${config.db.dataDir}, so its secrets would not match the ones stored here; a merge needs the same key`,
        );
      if (existing && !(await isEmpty(db.read, db)))
        throw new DumpError(`cannot import ${file}: the database is not empty (use --merge to add the dump's rows to what is there)`);
      // Written now, put in place only after the commit: a failed import leaves the old key.
      mkdirSync(config.db.dataDir, { recursive: true, mode: 0o700 });
      tmpKey = createTempFile(keyPath);
      writeFileSync(tmpKey, `${checked.key.toString("hex")}\n`);
      keyNote = existing ? `replaced (the previous one is kept as ${keyPath}${PREVIOUS_KEY_SUFFIX})` : "written";
    }
    const rows = await importDump(db, { file, checked, merge: opts.merge, progress: opts.progress });
    if (tmpKey !== undefined) {
      if (existing) {
        rmSync(keyPath + PREVIOUS_KEY_SUFFIX, { force: true });
        linkSync(keyPath, keyPath + PREVIOUS_KEY_SUFFIX);
      }
      renameSync(tmpKey, keyPath);
    }
    return `imported ${file} into ${what}: ${counts(rows)}; installation key ${keyNote}`;
  } finally {
    if (tmpKey !== undefined) releaseTempFile(tmpKey);
    await db.close();
  }
}
