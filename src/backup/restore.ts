import { Database as SqliteConnection } from "bun:sqlite";
import { chownSync, closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { appliedMigrations, knownMigrations, MIGRATIONS_TABLE } from "../db/migrations.ts";
import { DatabaseInUseError, lockDatabase } from "../db/sqlite/lock.ts";
import {
  BACKUP_FORMAT,
  BackupError,
  fsyncPath,
  hasSqliteHeader,
  installationKeyPath,
  isKeyHex,
  keyFingerprint,
  META_TABLE,
  noStages,
  readInstallationKey,
  type StageReporter,
  writeFileAtomic,
} from "./format.ts";
import { createTempFile, releaseTempFile, removeStaleTempFiles } from "./temp-files.ts";

export interface RestoreOptions {
  /** The backup file (or a plain copy of a database file). */
  file: string;
  /** The service's SQLite file (MG_CLIENTS_DB_PATH) to replace. */
  dbPath: string;
  dataDir: string;
  /** The migrations folder of this build, to recognise the backup's schema. */
  migrationsFolder: string;
}

export interface RestoreResult {
  clients: number;
  /** The tag of the last migration the restored database has. */
  schema: string;
  keyRestored: boolean;
  /** Where the replaced database was kept, if there was one. */
  previous?: string;
  warnings: string[];
}

/** Suffix of the files a restore keeps from what it replaced (one generation). */
const PREVIOUS_SUFFIX = ".before-restore";

/**
 * Replaces the database (and the installation key) with a backup's, all or nothing:
 *  1. takes the database's lock, so no service runs meanwhile (and none can start);
 *  2. copies the file to a temporary file in the data directory and validates the copy
 *     (SQLite, integrity, this product's migrations, format, key); any failure stops here and the
 *     data directory is exactly as it was;
 *  3. strips the backup metadata, puts the key in place, then renames the copy over the database.
 * The replaced database and key stay beside it with the `.before-restore` suffix.
 */
export function restoreBackup(opts: RestoreOptions, stage: StageReporter = noStages): RestoreResult {
  const source = resolve(opts.file);
  if (!existsSync(source)) throw new BackupError(`cannot restore ${source}: no such file`);
  if (!statSync(source).isFile()) throw new BackupError(`cannot restore ${source}: not a file`);
  if (statSync(source).size === 0 || !hasSqliteHeader(source))
    throw new BackupError(`cannot restore ${source}: not a magistrala-clients backup (not an SQLite database)`);

  if (!existsSync(opts.dataDir)) mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  let lock: ReturnType<typeof lockDatabase>;
  try {
    lock = lockDatabase(opts.dbPath, "restore");
  } catch (err) {
    if (err instanceof DatabaseInUseError) throw new BackupError(`refusing to restore: ${err.message}; stop it first`);
    throw err;
  }

  removeStaleTempFiles(opts.dataDir);
  // Created 0600 first, then filled: a copy made with copyFile would take the backup's mode.
  const tmp = createTempFile(opts.dbPath);
  try {
    stage({ label: "copying", file: tmp, total: statSync(source).size });
    copyInto(source, tmp);
    const checked = validateAndStrip(tmp, source, opts.migrationsFolder, stage);
    const key = decideKey(checked.meta, opts.dataDir, source);
    fsyncPath(tmp);

    // Everything is checked; from here on the data directory changes.
    const owner = ownerOf(existsSync(opts.dbPath) ? opts.dbPath : opts.dataDir);
    const previous = retire(opts.dbPath);
    let keyRestored = false;
    if (key.restore) {
      const keyPath = installationKeyPath(opts.dataDir);
      if (existsSync(keyPath)) keepPrevious(keyPath);
      writeFileAtomic(keyPath, `${key.restore}\n`);
      chownLike(keyPath, owner);
      keyRestored = true;
    }
    chownLike(tmp, owner);
    renameSync(tmp, opts.dbPath);
    fsyncPath(opts.dataDir);
    return { clients: checked.clients, schema: checked.schema, keyRestored, previous, warnings: key.warnings };
  } finally {
    releaseTempFile(tmp);
    lock.release();
  }
}

/** Copies `source` into the existing file `into`, which keeps its mode. */
function copyInto(source: string, into: string): void {
  const from = openSync(source, "r");
  const to = openSync(into, "r+");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n: number; (n = readSync(from, buf, 0, buf.length, null)) > 0; ) writeSync(to, buf, 0, n);
  } finally {
    closeSync(from);
    closeSync(to);
  }
}

interface Checked {
  meta: Map<string, string> | undefined;
  clients: number;
  schema: string;
}

const sqliteCode = (err: unknown) => (err as { code?: string } | null)?.code ?? "";

/** Validates the temporary copy, then removes the metadata table (and with VACUUM, every trace of the key). */
function validateAndStrip(tmp: string, source: string, migrationsFolder: string, stage: StageReporter): Checked {
  const refuse = (why: string) => new BackupError(`cannot restore ${source}: ${why}`);
  let db: SqliteConnection | undefined;
  try {
    db = new SqliteConnection(tmp, { readwrite: true });
    // VACUUM below builds the new file in a temporary database: on disk, not in memory.
    db.exec("PRAGMA temp_store = FILE");
    stage({ label: "checking integrity" });
    const check = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
    if (check[0]?.integrity_check !== "ok") throw refuse(`the file is corrupt (${check[0]?.integrity_check ?? "no answer"})`);

    const applied = appliedMigrations(db);
    if (applied.length === 0) throw refuse(`not a magistrala-clients backup (no ${MIGRATIONS_TABLE} table)`);
    const known = knownMigrations(migrationsFolder);
    for (const row of applied) {
      const m = known.find((k) => k.when === row.when);
      if (!m) throw refuse(`it was written by a newer version (unknown migration of ${new Date(row.when).toISOString()}); restore it with that version`);
      if (m.hash !== row.hash) throw refuse(`not a magistrala-clients backup (migration ${m.tag} differs from this version's)`);
    }
    const hasClients = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'clients'").get();
    if (!hasClients) throw refuse("not a magistrala-clients backup (no clients table)");
    stage({ label: "checking foreign keys" });
    const fk = db.query("PRAGMA foreign_key_check").all();
    if (fk.length > 0) throw refuse(`the file is inconsistent (${fk.length} rows break foreign keys)`);

    let meta: Map<string, string> | undefined;
    if (db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(META_TABLE)) {
      const rows = db.query(`SELECT name, value FROM "${META_TABLE}"`).all() as { name: string; value: string }[];
      meta = new Map(rows.map((r) => [r.name, r.value]));
      if (meta.get("format") !== BACKUP_FORMAT) throw refuse(`unsupported backup format "${meta.get("format") ?? ""}" (expected ${BACKUP_FORMAT})`);
      db.exec("PRAGMA secure_delete = ON");
      db.exec(`DROP TABLE "${META_TABLE}"`);
    }
    const clients = (db.query("SELECT count(*) AS n FROM clients").get() as { n: number }).n;
    const last = applied.reduce((a, b) => (b.when > a.when ? b : a));
    const schema = known.find((k) => k.when === last.when)!.tag;
    // A self-contained file (no -wal beside it), rewritten without the dropped table's pages.
    db.exec("PRAGMA journal_mode = DELETE");
    stage({ label: "compacting" });
    db.exec("VACUUM");
    return { meta, clients, schema };
  } catch (err) {
    if (err instanceof BackupError) throw err;
    const code = sqliteCode(err);
    if (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB")) throw refuse(`the file is corrupt (${(err as Error).message})`);
    throw refuse((err as Error).message);
  } finally {
    db?.close();
  }
}

/** Which key to put in place, checked against the backup's fingerprint and the key already there. */
function decideKey(meta: Map<string, string> | undefined, dataDir: string, source: string): { restore?: string; warnings: string[] } {
  const keyPath = installationKeyPath(dataDir);
  const refuse = (why: string) => new BackupError(`cannot restore ${source}: ${why}`);
  const fingerprint = meta?.get("key_fingerprint");
  const key = meta?.get("installation_key");
  if (key !== undefined) {
    if (!isKeyHex(key)) throw refuse("the file is corrupt (its installation key is malformed)");
    if (fingerprint !== undefined && fingerprint !== keyFingerprint(Buffer.from(key, "hex")))
      throw refuse("the file is corrupt (its installation key does not match its fingerprint)");
    return { restore: key, warnings: [] };
  }
  let current: Buffer | undefined;
  try {
    current = readInstallationKey(dataDir);
  } catch {
    current = undefined;
  }
  if (!current) throw refuse(`it holds no installation key and ${keyPath} does not exist; put the original key there first`);
  if (fingerprint === undefined)
    return { warnings: [`${source} carries no installation key and no fingerprint: keeping ${keyPath}, which could not be checked against it`] };
  if (fingerprint !== keyFingerprint(current)) throw refuse(`it was taken with another installation key than ${keyPath}; put the original key there first`);
  return { warnings: [] };
}

/**
 * Moves the current database aside before the rename replaces it: folds its WAL in (we hold the
 * lock, so no one else has it open), keeps it as `<db>.before-restore`, and clears the WAL and
 * journal files that would otherwise be replayed into the restored database.
 */
function retire(dbPath: string): string | undefined {
  if (existsSync(dbPath)) {
    try {
      const old = new SqliteConnection(dbPath, { readwrite: true });
      old.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      old.close(); // the last connection to close deletes the WAL
    } catch {
      // a damaged old database is still kept aside below; its WAL too
    }
  }
  for (const suffix of ["-wal", "-journal"]) {
    const side = dbPath + suffix;
    if (existsSync(side)) {
      if (statSync(side).size > 0) renameSync(side, dbPath + PREVIOUS_SUFFIX + suffix);
      else rmSync(side);
    }
  }
  rmSync(`${dbPath}-shm`, { force: true });
  if (!existsSync(dbPath)) return undefined;
  return keepPrevious(dbPath);
}

/** Keeps `path` as `<path>.before-restore` (a hard link: the original stays until it is replaced). */
function keepPrevious(path: string): string {
  const previous = path + PREVIOUS_SUFFIX;
  rmSync(previous, { force: true });
  try {
    linkSync(path, previous);
  } catch {
    copyFileSync(path, previous);
  }
  return previous;
}

function ownerOf(path: string): { uid: number; gid: number } {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid };
}

/** A restore run as root for a service that runs as another user must leave files that user can open. */
function chownLike(path: string, owner: { uid: number; gid: number }): void {
  if (process.getuid?.() === 0) chownSync(path, owner.uid, owner.gid);
}
