import { randomUUID } from "node:crypto";
import { createAccessService } from "./auth/access.ts";
import { createSecretHasher, loadInstallationKey } from "./auth/secrets.ts";
import { createStandaloneAuth } from "./auth/standalone.ts";
import { buildInfo } from "./buildinfo.ts";
import { AccessCache, applyInvalidation, connectionInvalidations, invalidation } from "./cache/access-cache.ts";
import { channelsGrpc } from "./channels/grpc.ts";
import { channelsRoutes } from "./channels/http.ts";
import { createChannelsRepository } from "./channels/repository.ts";
import { createChannelsService } from "./channels/service.ts";
import { clientsGrpc } from "./clients/grpc.ts";
import { clientsRoutes } from "./clients/http.ts";
import { createClientsRepository, storedClients } from "./clients/repository.ts";
import { createClientsService } from "./clients/service.ts";
import { type Config, ConfigError, loadConfig } from "./config/config.ts";
import { connectionsRoutes } from "./connections/http.ts";
import { createConnectionsRepository } from "./connections/repository.ts";
import { createConnectionsService } from "./connections/service.ts";
import { EventFeed, observeCommittedEvents } from "./console/feed.ts";
import { openapiUi } from "./console/openapi-ui.ts";
import { consoleRoutes } from "./console/routes.ts";
import type { InvalidationBus } from "./db/invalidation/bus.ts";
import { openDatabase } from "./db/open.ts";
import { createOutbox } from "./events/outbox.ts";
import { createPublisher, type PublisherTuning } from "./events/publisher.ts";
import { CallCounts, type RunningGrpcServer, startGrpcServer } from "./grpc/server.ts";
import { createHooks } from "./hooks/index.ts";
import { createHttpApp } from "./http/server.ts";
import { createLogger, type Logger } from "./log/logger.ts";
import { counterFromTotals, createMetrics, gaugeFromValues } from "./metrics/metrics.ts";
import { rolesRoutes } from "./roles/http.ts";
import { createRolesRepository } from "./roles/repository.ts";
import { createRolesService } from "./roles/service.ts";
import type { EntityHooks } from "./shared/lifecycle.ts";

export interface RunningService {
  /** Base URL of the HTTP API, e.g. http://localhost:9000 */
  readonly httpUrl: string;
  /** The port the gRPC server listens on (MG_CLIENTS_GRPC_PORT, or the one picked for 0). */
  readonly grpcPort: number;
  /** Base URL of the broker hooks listener, when it is on (MG_CLIENTS_HOOKS_PORT). */
  readonly hooksUrl: string | undefined;
  readonly instanceId: string;
  /** Cache coherence across the instances of the database (src/db/invalidation/bus.ts). */
  readonly bus: InvalidationBus;
  /**
   * Stops accepting requests, lets in-flight ones finish, gives the publisher a few seconds to
   * deliver the outbox, closes the database.
   */
  stop(): Promise<void>;
}

/** On shutdown, how long the publisher may keep delivering the outbox before the process exits. */
export const SHUTDOWN_FLUSH_MS = 3000;

export interface StartOptions {
  /** Overrides SHUTDOWN_FLUSH_MS. */
  shutdownFlushMs?: number;
  /** Publisher timings (backoff, poll, …); the defaults suit production. */
  publisherTuning?: Partial<PublisherTuning>;
}

/** The one place that wires concrete parts together. */
export async function startService(config: Config, logger: Logger = createLogger(config.logLevel), options: StartOptions = {}): Promise<RunningService> {
  const instanceId = config.instanceId ?? randomUUID();
  // The console's live tail sees each committed transaction's events (src/console/feed.ts).
  const feed = new EventFeed();
  // Postgres keeps the rows; the data directory (the folder of MG_CLIENTS_DB_PATH) still holds the
  // installation key and the standalone token, whichever the driver.
  const db = observeCommittedEvents(await openDatabase(config.db, logger), (events) => feed.push(events));
  let key: Buffer;
  let auth: ReturnType<typeof createStandaloneAuth>;
  try {
    const storedSecrets = await storedClients(db);
    const loaded = loadInstallationKey(config.db.dataDir, { storedSecrets, allowNew: config.installationKey.allowNew });
    if (loaded.created && storedSecrets > 0)
      logger.warn("created a NEW installation key although the database holds client secrets: they no longer match", {
        path: loaded.path,
        clients: storedSecrets,
      });
    else if (loaded.created) logger.info("created the installation key", { path: loaded.path });
    key = loaded.key;
    auth = createStandaloneAuth({ dataDir: config.db.dataDir, id: config.standalone.id, token: config.standalone.token, logger });
  } catch (err) {
    await db.close(); // a Postgres pool would keep the process alive
    throw err;
  }
  const hasher = createSecretHasher(key);
  const metrics = createMetrics();

  const connectionsRepo = createConnectionsRepository(db);
  const roleRepos = { client: createRolesRepository(db, "client"), channel: createRolesRepository(db, "channel") };
  const clientsRepo = createClientsRepository(db, connectionsRepo, roleRepos.client);
  const channelsRepo = createChannelsRepository(db, connectionsRepo, roleRepos.channel);
  // The hot path's cache: every change that can alter an answer publishes, inside its transaction,
  // an invalidation that every instance applies at commit (src/db/invalidation/bus.ts).
  const cache = new AccessCache({ ttlMs: config.cache.ttlMs, maxEntries: config.cache.maxEntries, bypass: () => !db.bus.coherent });
  db.bus.subscribe((message) => applyInvalidation(cache, message));
  const connections = createConnectionsService({
    db,
    repo: connectionsRepo,
    clients: clientsRepo,
    channels: channelsRepo,
    changed: (tx, rows) => {
      for (const m of connectionInvalidations(rows)) tx.invalidate(m);
    },
  });
  const roles = createRolesService({
    db,
    repos: roleRepos,
    entities: { client: clientsRepo, channel: channelsRepo },
    // Users' publish/subscribe rights come from channel roles: any change to them drops the
    // channel's cached answers.
    rolesChanged: (tx, kind, entityId) => {
      if (kind === "channel") tx.invalidate(invalidation.channel(entityId));
    },
  });
  // What a client's or channel's changes mean for the other capabilities, alike for both kinds.
  const hooksFor = <Row extends { id: string }>(kind: "client" | "channel"): EntityHooks<Row> => ({
    accessChanged: (tx, id) => tx.invalidate(invalidation[kind](id)),
    created: (tx, ctx, rows) =>
      roles.provisionBuiltIn(
        tx,
        ctx,
        kind,
        rows.map((r) => r.id),
      ),
    removing: async (tx, ctx, row) => {
      await connections.entityRemoving(tx, ctx, kind, row.id);
      roles.entityRemoving(tx, kind, row.id);
    },
    connectionTypes: (domainId, otherId, ids) => connections.typeNames(kind, domainId, otherId, ids),
    memberRoles: (ids, memberId) => roles.memberRoles(kind, ids, memberId),
  });
  const clients = createClientsService({ db, repo: clientsRepo, hasher, hooks: hooksFor("client") });
  const channels = createChannelsService({ db, repo: channelsRepo, hooks: hooksFor("channel") });

  const access = createAccessService({
    clients: clientsRepo,
    connections: connectionsRepo,
    hasher,
    cache,
    users: { superAdminId: auth.userId, mayAccessChannel: (d, u, ch, action) => roles.userMayAccessChannel(d, u, ch, action) },
  });
  const hooks = createHooks({
    config,
    access,
    cache,
    channelIdByRoute: (d, route) => channelsRepo.findByRoute(d, route).then((c) => c?.id),
    logger,
    registry: metrics.registry,
  });
  const grpcCounts = new CallCounts();
  counterFromTotals(
    metrics.registry,
    "access_cache_requests_total",
    "Lookups of the authentication/authorization cache by result.",
    ["cache", "result"],
    () => [
      [{ cache: "authn", result: "hit" }, cache.stats.authnHits],
      [{ cache: "authn", result: "miss" }, cache.stats.authnMisses],
      [{ cache: "authz", result: "hit" }, cache.stats.authzHits],
      [{ cache: "authz", result: "miss" }, cache.stats.authzMisses],
      [{ cache: "route", result: "hit" }, cache.stats.routeHits],
      [{ cache: "route", result: "miss" }, cache.stats.routeMisses],
    ],
  );
  gaugeFromValues(metrics.registry, "access_cache_entries", "Entries in the authentication/authorization cache.", ["cache"], () => [
    [{ cache: "authn" }, cache.size.authn],
    [{ cache: "authz" }, cache.size.authz],
    [{ cache: "route" }, cache.size.route],
  ]);
  const dbStats = db.stats;
  if (dbStats) {
    counterFromTotals(metrics.registry, "db_transactions_total", "Committed write transactions.", [], () => [[{}, dbStats.transactions]]);
    counterFromTotals(metrics.registry, "db_commits_total", "Commits (one carries several transactions when they are grouped).", [], () => [
      [{}, dbStats.commits],
    ]);
  }
  counterFromTotals(metrics.registry, "grpc_server_handled_total", "gRPC calls by method and status code.", ["grpc_method", "grpc_code"], () =>
    grpcCounts.totals(),
  );

  const events = createPublisher({
    outbox: createOutbox(db),
    url: config.events.url,
    topicPrefix: config.events.topicPrefix,
    maxRows: config.events.outboxMaxRows,
    logger,
    metrics: metrics.events,
    tuning: options.publisherTuning,
  });
  // Before the publisher: with the broker's auth going through the hooks, its first connect asks them.
  try {
    await hooks.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  await events.start();

  const health = () => ({
    status: "pass",
    version: buildInfo.version,
    commit: buildInfo.commit,
    description: "clients service",
    build_time: buildInfo.buildTime,
    instance_id: instanceId,
    // The service works without the broker (events wait in the outbox), so this never fails health.
    event_broker: events.state,
    hooks: hooks.state,
  });

  const app = createHttpApp({ auth, logger, metrics, health, version: buildInfo.version, maxBodyBytes: config.http.maxBodyBytes }, [
    clientsRoutes(clients),
    channelsRoutes(channels),
    connectionsRoutes(connections),
    rolesRoutes(roles),
    openapiUi(),
    consoleRoutes({ auth, feed }),
  ]);
  try {
    app.listen({
      hostname: config.http.host,
      port: config.http.port,
      // Bodies are limited by the app (MG_CLIENTS_HTTP_MAX_BODY), which answers 413 with a JSON
      // message and reads no further; Bun's own limit would answer first, without one.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // Elysia defaults to SO_REUSEPORT, which would let a second instance share the port silently.
      reusePort: false,
      ...(config.http.tls ? { tls: { cert: Bun.file(config.http.tls.cert), key: Bun.file(config.http.tls.key) } } : {}),
    });
  } catch (err) {
    await hooks.stop();
    await events.stop(0);
    await db.close();
    throw err;
  }
  const server = app.server!;
  const scheme = config.http.tls ? "https" : "http";
  const httpUrl = `${scheme}://${config.http.host}:${server.port}`;

  let grpcServer: RunningGrpcServer;
  try {
    grpcServer = await startGrpcServer({
      host: config.grpc.host,
      port: config.grpc.port,
      tls: config.grpc.tls,
      logger,
      services: {
        clients: clientsGrpc({ access, clients, connections, logger, counts: grpcCounts }),
        channels: channelsGrpc({ access, channels, connections, logger, counts: grpcCounts }),
      },
      extra: hooks.grpcServices,
    });
  } catch (err) {
    await server.stop(true);
    await hooks.stop();
    await events.stop(0);
    await db.close();
    throw err;
  }
  logger.info("http server listening", { url: httpUrl, instance_id: instanceId, version: buildInfo.version });

  let stopping: Promise<void> | undefined;
  return {
    httpUrl,
    grpcPort: grpcServer.port,
    hooksUrl: hooks.url,
    instanceId,
    bus: db.bus,
    stop() {
      stopping ??= (async () => {
        feed.close(); // open event streams would keep server.stop() waiting
        await Promise.all([server.stop(), grpcServer.stop(), hooks.stop()]);
        await new Promise((resolve) => setImmediate(resolve)); // let the last after-response hooks log
        // The last requests' events included; what the broker does not acknowledge in time stays.
        await events.stop(options.shutdownFlushMs ?? SHUTDOWN_FLUSH_MS);
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
