import { randomUUID } from "node:crypto";
import type { KickerTuning } from "./broker/kicker.ts";
import { buildInfo } from "./buildinfo.ts";
import { type Config, ConfigError, loadConfig } from "./config/config.ts";
import type { InvalidationBus } from "./db/invalidation/bus.ts";
import type { PublisherTuning } from "./events/tuning.ts";
import { createLogger, type Logger } from "./log/logger.ts";
import type { PresenceTuning } from "./wiring/broker.ts";

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
  /** Kick retry timings (src/broker/kicker.ts). */
  kickerTuning?: Partial<KickerTuning>;
  /** Presence write interval and tentative-session time (src/wiring/broker.ts). */
  presenceTuning?: PresenceTuning;
  /** false: the hooks do not feed presence (the baseline of scripts/bench/presence.ts). */
  presence?: boolean;
}

/**
 * The one place that wires concrete parts together: the database, the domain (every capability's
 * repository and service, and the rules between them), observability, the broker hooks, the event
 * publisher and the HTTP and gRPC listeners. What runs is a list of resources (src/wiring/resources.ts), started in this order
 * and stopped in reverse — on shutdown, or at once when a later one fails to start.
 */
export async function startService(config: Config, logger: Logger = createLogger(config.logLevel), options: StartOptions = {}): Promise<RunningService> {
  const instanceId = config.instanceId ?? randomUUID();
  const {
    EventFeed,
    observeCommittedEvents,
    openapiUi,
    consoleRoutes,
    CallCounts,
    brokerLink,
    presenceTracker,
    database,
    buildDomain,
    eventPublisher,
    hooksListener,
    loadIdentity,
    healthReport,
    serviceMetrics,
    Resources,
    grpcListener,
    httpListener,
    httpRoutes,
    httpFastViews,
  } = await import("./wiring/service-parts.ts");
  const resources = new Resources();
  try {
    // The console's live tail sees each committed transaction's events (src/console/feed.ts).
    const feed = new EventFeed();
    const db = observeCommittedEvents(await resources.start(database(config, logger)), (events) => feed.push(events));
    const { hasher, auth } = await loadIdentity(config, db, logger);
    const domain = buildDomain({ db, hasher, superAdminId: auth.userId, cache: config.cache });
    const grpcCounts = new CallCounts();
    const metrics = serviceMetrics({ cache: domain.cache, db, grpcCounts });
    const presence = await resources.start(presenceTracker(config, db, { logger, tuning: options.presenceTuning }));
    // Before the publisher: with the broker's auth going through the hooks, its first connect asks them.
    const hooks = await resources.start(
      hooksListener(config, domain, { logger, registry: metrics.registry, presence: options.presence === false ? undefined : presence }),
    );
    const events = await resources.start(
      eventPublisher(
        config,
        db,
        { logger, metrics: metrics.events },
        { flushMs: options.shutdownFlushMs ?? SHUTDOWN_FLUSH_MS, tuning: options.publisherTuning },
      ),
    );
    await resources.start(brokerLink(config, db, presence, { logger, registry: metrics.registry, tuning: options.kickerTuning }));
    const health = healthReport(instanceId, events, hooks);
    const http = await resources.start(
      httpListener(
        config,
        { auth, logger, metrics, health, version: buildInfo.version, maxBodyBytes: config.http.maxBodyBytes },
        [...httpRoutes(domain, presence), openapiUi(), consoleRoutes({ auth, feed })],
        feed,
        httpFastViews(domain),
      ),
    );
    const grpc = await resources.start(grpcListener(config, domain, { logger, counts: grpcCounts, extra: hooks.grpcServices }));
    logger.info("http server listening", { url: http.url, instance_id: instanceId, version: buildInfo.version });

    let stopping: Promise<void> | undefined;
    return {
      httpUrl: http.url,
      grpcPort: grpc.port,
      hooksUrl: hooks.url,
      instanceId,
      bus: db.bus,
      stop() {
        stopping ??= resources.stopAll({ graceful: true }).then(() => logger.info("stopped"));
        return stopping;
      },
    };
  } catch (err) {
    await resources.stopAll({ graceful: false });
    throw err;
  }
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
