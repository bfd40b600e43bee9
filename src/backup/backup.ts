import { Database as SqliteConnection } from "bun:sqlite";
import { existsSync, renameSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { buildInfo } from "../buildinfo.ts";
import { MIGRATIONS_TABLE } from "../db/migrations.ts";
import {
  BACKUP_FORMAT,
  BackupError,
  fsyncPath,
  installationKeyPath,
  keyFingerprint,
  META_TABLE,
  noStages,
  readInstallationKey,
  type StageReporter,
} from "./format.ts";
import { createTempFile, releaseTempFile, removeStaleTempFiles } from "./temp-files.ts";

export interface BackupOptions {
  /** The service's SQLite file (MG_CLIENTS_DB_PATH). */
  dbPath: string;
  /** Its folder, where the installation key lives. */
  dataDir: string;
  /** Where the backup goes; replaced atomically if it exists. */
  file: string;
  /** Put the installation key in the backup (default); `--no-key` leaves only its fingerprint. */
  includeKey: boolean;
}

export interface BackupResult {
  file: string;
  bytes: number;
  clients: number;
  keyIncluded: boolean;
}

const BUSY_TIMEOUT_MS = 10_000;

/**
 * Writes a consistent snapshot of a live database to `file` (format: ./format.ts). The snapshot
 * is one `VACUUM INTO` on a read-only connection: in WAL mode that is a single read transaction,
 * so it holds exactly the transactions committed before it began and never blocks the service's
 * writers. The result goes to a temporary file beside the target and is renamed into place.
 */
export function createBackup(opts: BackupOptions, stage: StageReporter = noStages): BackupResult {
  const target = resolve(opts.file);
  const dir = dirname(target);
  if (!existsSync(opts.dbPath)) throw new BackupError(`no database at ${opts.dbPath} (check MG_CLIENTS_DB_PATH)`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BackupError(`cannot write ${target}: the directory ${dir} does not exist`);
  if (existsSync(target) && !statSync(target).isFile()) throw new BackupError(`cannot write ${target}: it exists and is not a file`);
  if (["", "-wal", "-shm", "-journal", ".lock"].some((suffix) => target === opts.dbPath + suffix))
    throw new BackupError(`cannot write ${target}: that is the database itself or one of its files`);

  const key = readInstallationKey(opts.dataDir);
  if (opts.includeKey && !key) throw new BackupError(`no installation key at ${installationKeyPath(opts.dataDir)}; use --no-key to back up the database alone`);

  removeStaleTempFiles(dir);
  removeStaleTempFiles(opts.dataDir);
  // VACUUM INTO accepts an empty file: creating it first keeps the copy private (0600) from the start.
  const tmp = createTempFile(target);
  try {
    snapshot(opts.dbPath, tmp, stage);
    const meta: Record<string, string> = {
      format: BACKUP_FORMAT,
      created_at: new Date().toISOString(),
      version: buildInfo.version,
      commit: buildInfo.commit,
    };
    if (key) meta.key_fingerprint = keyFingerprint(key);
    if (key && opts.includeKey) meta.installation_key = key.toString("hex");
    stage({ label: "checking the snapshot" });
    const clients = annotate(tmp, meta);
    fsyncPath(tmp);
    renameSync(tmp, target);
    fsyncPath(dir);
    return { file: target, bytes: statSync(target).size, clients, keyIncluded: meta.installation_key !== undefined };
  } finally {
    releaseTempFile(tmp);
  }
}

function snapshot(dbPath: string, into: string, stage: StageReporter): void {
  let src: SqliteConnection;
  try {
    src = new SqliteConnection(dbPath, { readonly: true });
  } catch (err) {
    throw new BackupError(`cannot open ${dbPath}: ${(err as Error).message}`);
  }
  try {
    src.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const ours = src.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATIONS_TABLE);
    if (!ours) throw new BackupError(`${dbPath} is not a magistrala-clients database (it has no ${MIGRATIONS_TABLE} table)`);
    // The snapshot's size: the pages in use (VACUUM INTO leaves the free ones behind).
    const pragma = (name: string) => Object.values(src.query(`PRAGMA ${name}`).get() as Record<string, number>)[0] ?? 0;
    stage({ label: "snapshot", file: into, total: (pragma("page_count") - pragma("freelist_count")) * pragma("page_size") });
    src.query("VACUUM INTO ?").run(into);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`cannot snapshot ${dbPath}: ${(err as Error).message}`);
  } finally {
    src.close();
  }
}

/** Adds the metadata table to the snapshot; returns how many clients it holds. */
function annotate(file: string, meta: Record<string, string>): number {
  const db = new SqliteConnection(file, { readwrite: true });
  try {
    db.exec(`CREATE TABLE "${META_TABLE}" (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const insert = db.query(`INSERT INTO "${META_TABLE}" (name, value) VALUES (?, ?)`);
    db.transaction(() => {
      for (const [name, value] of Object.entries(meta)) insert.run(name, value);
    })();
    const check = db.query("PRAGMA quick_check").all() as { quick_check: string }[];
    if (check[0]?.quick_check !== "ok") throw new BackupError(`the snapshot failed its check: ${check[0]?.quick_check ?? "no answer"}`);
    return (db.query("SELECT count(*) AS n FROM clients").get() as { n: number }).n;
  } finally {
    db.close();
  }
}
