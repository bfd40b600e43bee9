import { createHmac } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { INSTALLATION_KEY_FILE } from "../auth/secrets.ts";
import { createTempFile, releaseTempFile } from "./temp-files.ts";

/**
 * The backup format: ONE file that is itself a valid SQLite database, a consistent snapshot of the
 * service's database (`VACUUM INTO`) plus one extra table, `magistrala_backup`, of name/value rows:
 *
 *   format           magistrala-clients-backup/1
 *   created_at       ISO 8601 time of the snapshot
 *   version, commit  of the binary that wrote it
 *   key_fingerprint  HMAC-SHA256(installation key, FINGERPRINT_LABEL), 32 hex digits
 *   installation_key the key itself, 64 hex digits (absent with `backup --no-key`)
 *
 * So `sqlite3 backup.db` can inspect it, and a restore needs nothing but the file. Restore drops the
 * table (and VACUUMs, so the key leaves no trace in free pages) before the file becomes the database.
 */
export const META_TABLE = "magistrala_backup";
export const BACKUP_FORMAT = "magistrala-clients-backup/1";
const FINGERPRINT_LABEL = "magistrala-clients installation key fingerprint";

/** A failure an operator can act on: its message is the whole story, on one line. */
export class BackupError extends Error {
  override name = "BackupError";
}

/**
 * A long step of a backup or restore begins: what it is and, when it writes a file that grows to a
 * known size, that file and size (its progress is the file's size; the step itself blocks).
 */
export interface StageInfo {
  label: string;
  file?: string;
  total?: number;
}
export type StageReporter = (stage: StageInfo) => void;
export const noStages: StageReporter = () => undefined;

export const installationKeyPath = (dataDir: string) => join(dataDir, INSTALLATION_KEY_FILE);

/** Identifies a key without revealing it: restore uses it to tell whether two keys are the same. */
export function keyFingerprint(key: Buffer): string {
  return createHmac("sha256", key).update(FINGERPRINT_LABEL).digest("hex").slice(0, 32);
}

export const isKeyHex = (s: string) => /^[0-9a-f]{64}$/.test(s);

/** The data directory's installation key, or undefined when there is none yet. */
export function readInstallationKey(dataDir: string): Buffer | undefined {
  const path = installationKeyPath(dataDir);
  if (!existsSync(path)) return undefined;
  const hex = readFileSync(path, "utf8").trim();
  if (!isKeyHex(hex)) throw new BackupError(`${path} is not a 32-byte hex key`);
  return Buffer.from(hex, "hex");
}

/** Flushes a file (or a directory's entries, after a rename) to disk. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a 0600 file through a temporary file and a rename, so it is either old or new, never half. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = createTempFile(path);
  try {
    writeFileSync(tmp, content);
    fsyncPath(tmp);
    renameSync(tmp, path);
  } finally {
    releaseTempFile(tmp);
  }
  fsyncPath(dirname(path));
}

/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = "SQLite format 3\u0000";

export function hasSqliteHeader(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return n === 16 && buf.toString("latin1") === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}
