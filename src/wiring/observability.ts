import { buildInfo } from "../buildinfo.ts";
import type { AccessCache } from "../cache/access-cache.ts";
import type { Database } from "../db/database.ts";
import type { BrokerState } from "../events/broker.ts";
import type { CallCounts } from "../grpc/server.ts";
import type { HooksState } from "../hooks/index.ts";
import { counterFromTotals, createMetrics, gaugeFromValues, type Metrics } from "../metrics/metrics.ts";

/**
 * The service's metrics: the registry of src/metrics/metrics.ts plus what the access cache, the
 * database and the gRPC handlers count themselves, read at scrape time.
 */
export function serviceMetrics(sources: { cache: AccessCache; db: Database; grpcCounts: CallCounts }): Metrics {
  const { cache, grpcCounts } = sources;
  const metrics = createMetrics();
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
  const dbStats = sources.db.stats;
  if (dbStats) {
    counterFromTotals(metrics.registry, "db_transactions_total", "Committed write transactions.", [], () => [[{}, dbStats.transactions]]);
    counterFromTotals(metrics.registry, "db_commits_total", "Commits (one carries several transactions when they are grouped).", [], () => [
      [{}, dbStats.commits],
    ]);
  }
  counterFromTotals(metrics.registry, "grpc_server_handled_total", "gRPC calls by method and status code.", ["grpc_method", "grpc_code"], () =>
    grpcCounts.totals(),
  );
  return metrics;
}

/** The /health body, computed per call. */
export function healthReport(
  instanceId: string,
  events: { readonly state: BrokerState },
  hooks: { readonly state: HooksState },
): () => Record<string, unknown> {
  return () => ({
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
}
