import { createSecretHasher, loadInstallationKey, type SecretHasher } from "../auth/secrets.ts";
import { createStandaloneAuth } from "../auth/standalone.ts";
import { storedClients } from "../clients/repository.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import type { Logger } from "../log/logger.ts";

export interface Identity {
  /** Client secrets hashed with the installation key (DESIGN decision 3). */
  hasher: SecretHasher;
  /** The standalone super-admin's bearer token (DESIGN decision 1). */
  auth: ReturnType<typeof createStandaloneAuth>;
}

/**
 * The installation key and the standalone token, kept in the data directory (the folder of
 * MG_CLIENTS_DB_PATH, whichever the driver); created on the first start.
 */
export async function loadIdentity(config: Config, db: Database, logger: Logger): Promise<Identity> {
  const storedSecrets = await storedClients(db);
  const loaded = loadInstallationKey(config.db.dataDir, { storedSecrets, allowNew: config.installationKey.allowNew });
  if (loaded.created && storedSecrets > 0)
    logger.warn("created a NEW installation key although the database holds client secrets: they no longer match", {
      path: loaded.path,
      clients: storedSecrets,
    });
  else if (loaded.created) logger.info("created the installation key", { path: loaded.path });
  const auth = createStandaloneAuth({ dataDir: config.db.dataDir, id: config.standalone.id, token: config.standalone.token, logger });
  return { hasher: createSecretHasher(loaded.key), auth };
}
