/**
 * The service's parts (src/main.ts loads this module when a service starts, not when it is
 * imported): the commands of the CLI (export, import, backup, restore …) run without the HTTP,
 * gRPC, broker and console stacks in memory (~30 MiB less peak RSS; docs/scale.md).
 */
export { EventFeed, observeCommittedEvents } from "../console/feed.ts";
export { openapiUi } from "../console/openapi-ui.ts";
export { consoleRoutes } from "../console/routes.ts";
export { CallCounts } from "../grpc/server.ts";
export { brokerLink, presenceTracker } from "./broker.ts";
export { database } from "./database.ts";
export { buildDomain } from "./domain.ts";
export { eventPublisher } from "./events.ts";
export { hooksListener } from "./hooks.ts";
export { loadIdentity } from "./identity.ts";
export { healthReport, serviceMetrics } from "./observability.ts";
export { Resources } from "./resources.ts";
export { grpcListener, httpFastViews, httpListener, httpRoutes } from "./transports.ts";
