import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readOrCreateSecretFile } from "./keyfile.ts";

export const INSTALLATION_KEY_FILE = "installation.key";

/**
 * Client secrets are stored as HMAC-SHA256(installation key, domain ‖ secret): unique per domain
 * through a unique index on (domain_id, secret_hash), useless without the key file, and cheap
 * enough to check on every device connect (bcrypt would cap a reconnect storm at ~17/s per core).
 */
export interface SecretHasher {
  hash(domainId: string, secret: string): string;
  /** Constant-time comparison of a presented secret with a stored hash. */
  matches(domainId: string, secret: string, storedHash: string): boolean;
}

export function createSecretHasher(key: Buffer): SecretHasher {
  const digest = (domainId: string, secret: string) =>
    // The length prefix keeps ("ab","c") and ("a","bc") apart.
    createHmac("sha256", key).update(`${domainId.length}:${domainId}:`).update(secret).digest();
  return {
    hash: (domainId, secret) => digest(domainId, secret).toString("base64url"),
    matches(domainId, secret, storedHash) {
      const stored = Buffer.from(storedHash, "base64url");
      const presented = digest(domainId, secret);
      return stored.length === presented.length && timingSafeEqual(stored, presented);
    },
  };
}

/**
 * The installation key lives in the data directory (0600), created on first start. When the
 * database already holds secrets (`storedSecrets` > 0) a missing key is not made anew: every
 * device would be refused with no way back but new secrets for all. Then the service refuses to
 * start, unless `allowNew` (MG_CLIENTS_NEW_INSTALLATION_KEY) says to go on with a new key.
 */
export function loadInstallationKey(
  dataDir: string,
  opts: { storedSecrets?: number; allowNew?: boolean } = {},
): { key: Buffer; created: boolean; path: string } {
  const path = join(dataDir, INSTALLATION_KEY_FILE);
  const stored = opts.storedSecrets ?? 0;
  if (stored > 0 && !opts.allowNew && !existsSync(path))
    throw new Error(
      `the installation key ${path} is missing, but the database holds the secrets of ${stored} client${stored === 1 ? "" : "s"}, which only that key can check; put the key back (backups made with \`backup\` or \`export\` hold it), or set MG_CLIENTS_NEW_INSTALLATION_KEY=true to start with a new key (every existing device then needs a new secret)`,
    );
  let value: string;
  let created: boolean;
  try {
    ({ value, created } = readOrCreateSecretFile(path, () => randomBytes(32).toString("hex")));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new Error(`cannot read the installation key ${path} (${code}); fix its permissions or put the key back`);
  }
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Error(`${path} is not a 32-byte hex key`);
  return { key: Buffer.from(value, "hex"), created, path };
}
