import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
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

/** The installation key lives in the data directory (0600), created on first start. */
export function loadInstallationKey(dataDir: string): { key: Buffer; created: boolean; path: string } {
  const path = join(dataDir, INSTALLATION_KEY_FILE);
  const { value, created } = readOrCreateSecretFile(path, () => randomBytes(32).toString("hex"));
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Error(`${path} is not a 32-byte hex key`);
  return { key: Buffer.from(value, "hex"), created, path };
}
