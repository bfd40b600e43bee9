import { randomUUID } from "node:crypto";
import { loadInstallationKey, createSecretHasher } from "./auth/secrets.ts";
import { createStandaloneAuth } from "./auth/standalone.ts";
import { buildInfo } from "./buildinfo.ts";
import { clientsRoutes } from "./clients/http.ts";
import { createClientsRepository } from "./clients/repository.ts";
import { createClientsService } from "./clients/service.ts";
import { type Config, ConfigError, loadConfig } from "./config/config.ts";
import { openSqlite } from "./db/sqlite.ts";
import { appendToOutbox } from "./events/outbox.ts";
import { createHttpApp } from "./http/server.ts";
import { type Logger, createLogger } from "./log/logger.ts";
import { createMetrics } from "./metrics/metrics.ts";

export interface RunningService {
  /** Base URL of the HTTP API, e.g. http://localhost:9000 */
  readonly httpUrl: string;
  readonly instanceId: string;
  /** Stops accepting requests, lets in-flight ones finish, closes the database. */
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The one place that wires concrete parts together. */
export async function startService(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningService> {
  const instanceId = config.instanceId ?? randomUUID();
  const db = openSqlite({ path: config.db.path, logger, writeOutbox: appendToOutbox });
  const { key, created: keyCreated, path: keyPath } = loadInstallationKey(config.db.dataDir);
  if (keyCreated) logger.info("created the installation key", { path: keyPath });
  const hasher = createSecretHasher(key);
  const auth = createStandaloneAuth({ dataDir: config.db.dataDir, id: config.standalone.id, token: config.standalone.token, logger });
  const metrics = createMetrics();

  const clients = createClientsService({ db, repo: createClientsRepository(db), hasher });

  const health = () => ({
    status: "pass",
    version: buildInfo.version,
    commit: buildInfo.commit,
    description: "clients service",
    build_time: buildInfo.buildTime,
    instance_id: instanceId,
  });

  const app = createHttpApp({ auth, logger, metrics, health, version: buildInfo.version }, [clientsRoutes(clients)]);
  try {
    app.listen({
      hostname: config.http.host,
      port: config.http.port,
      maxRequestBodySize: MAX_BODY_BYTES,
      // Elysia defaults to SO_REUSEPORT, which would let a second instance share the port silently.
      reusePort: false,
      ...(config.http.tls ? { tls: { cert: Bun.file(config.http.tls.cert), key: Bun.file(config.http.tls.key) } } : {}),
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const server = app.server!;
  const scheme = config.http.tls ? "https" : "http";
  const httpUrl = `${scheme}://${config.http.host}:${server.port}`;
  logger.info("http server listening", { url: httpUrl, instance_id: instanceId, version: buildInfo.version });

  let stopping: Promise<void> | undefined;
  return {
    httpUrl,
    instanceId,
    stop() {
      stopping ??= (async () => {
        await server.stop();
        await new Promise((resolve) => setImmediate(resolve)); // let the last after-response hooks log
        await db.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}

/** `serve`: start on the environment's configuration and stop cleanly on SIGTERM/SIGINT. */
export async function serve(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`config error: ${p}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let service: RunningService;
  try {
    service = await startService(config, logger);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error("failed to start", { error: message });
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info("shutting down", { signal });
    service.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error("shutdown failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

if (import.meta.main) {
  // The command line (src/cli): `serve` when no command is given. No top-level await: the
  // compiled binary is built with --bytecode, which needs a CommonJS-compatible entry.
  void import("./cli/index.ts")
    .then(({ runCli }) => runCli(process.argv.slice(2), { serve }))
    .then((code) => {
      if (code !== undefined) process.exitCode = code;
    });
}
