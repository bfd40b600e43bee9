import { type AccessService, createAccessService } from "../auth/access.ts";
import type { SecretHasher } from "../auth/secrets.ts";
import { AccessCache, applyInvalidation } from "../cache/access-cache.ts";
import { createChannelsRepository } from "../channels/repository.ts";
import { type ChannelsService, createChannelsService } from "../channels/service.ts";
import { createClientsRepository } from "../clients/repository.ts";
import { type ClientsService, createClientsService } from "../clients/service.ts";
import { createConnectionsRepository } from "../connections/repository.ts";
import { type ConnectionsService, createConnectionsService } from "../connections/service.ts";
import type { Database } from "../db/database.ts";
import { rules as domainRules, type Rules } from "../domain/rules.ts";
import type { Transactor } from "../domain/transaction.ts";
import { createRolesRepository } from "../roles/repository.ts";
import { createRolesService, type RolesService } from "../roles/service.ts";

export interface DomainDeps {
  db: Database;
  hasher: SecretHasher;
  /** The standalone super-admin (src/auth/standalone.ts): Authorize lets it do anything. */
  superAdminId: string;
  cache: { ttlMs: number; maxEntries: number };
  /** The services' writes go through this (default `db`; a test wraps it to make them fail). */
  transactor?: Transactor;
  /** The cross-capability rules (default src/domain/rules.ts; a test may observe one). */
  rules?: Rules;
}

export interface Domain {
  clients: ClientsService;
  channels: ChannelsService;
  connections: ConnectionsService;
  roles: RolesService;
  /** The gRPC hot path: Authenticate and Authorize through the cache. */
  access: AccessService;
  cache: AccessCache;
  /** The channel with this route in the domain, any status (the broker hooks' topics name routes). */
  channelIdByRoute(domainId: string, route: string): Promise<string | undefined>;
}

/**
 * The repositories and services of every capability, tied together by the rules of
 * src/domain/rules.ts, and the access core with its cache kept coherent by the database's bus.
 */
export function buildDomain(deps: DomainDeps): Domain {
  const { db, hasher } = deps;
  const rules = deps.rules ?? domainRules;
  const transactor = deps.transactor ?? db;

  const connectionsRepo = createConnectionsRepository(db);
  const roleRepos = { client: createRolesRepository(db, "client"), channel: createRolesRepository(db, "channel") };
  const clientsRepo = createClientsRepository(db, connectionsRepo, roleRepos.client);
  const channelsRepo = createChannelsRepository(db, connectionsRepo, roleRepos.channel);

  // The hot path's cache: every change that can alter an answer publishes, inside its transaction,
  // an invalidation that every instance applies at commit (src/db/invalidation/bus.ts).
  const cache = new AccessCache({ ttlMs: deps.cache.ttlMs, maxEntries: deps.cache.maxEntries, bypass: () => !db.bus.coherent });
  db.bus.subscribe((message) => applyInvalidation(cache, message));

  const connections = createConnectionsService({
    db: transactor,
    repo: connectionsRepo,
    clients: clientsRepo,
    channels: channelsRepo,
    changed: rules.connectionsChanged,
    removed: rules.connectionsRemoved,
  });
  const roles = createRolesService({
    db: transactor,
    repos: roleRepos,
    entities: { client: clientsRepo, channel: channelsRepo },
    rolesChanged: rules.rolesChanged,
    membersRevoked: rules.membersRevoked,
  });
  const others = { connections, roles };
  const clients = createClientsService({ db: transactor, repo: clientsRepo, hasher, hooks: rules.entityRules("client", others) });
  const channels = createChannelsService({ db: transactor, repo: channelsRepo, hooks: rules.entityRules("channel", others) });

  const access = createAccessService({
    clients: clientsRepo,
    connections: connectionsRepo,
    hasher,
    cache,
    users: { superAdminId: deps.superAdminId, mayAccessChannel: (d, u, ch, action) => roles.userMayAccessChannel(d, u, ch, action) },
  });
  const channelIdByRoute = (domainId: string, route: string) => channelsRepo.findByRoute(domainId, route).then((c) => c?.id);
  return { clients, channels, connections, roles, access, cache, channelIdByRoute };
}
