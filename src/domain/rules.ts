import type { RequestContext } from "./context.ts";
import type { EntityHooks } from "./entity.ts";
import { connectionInvalidations, invalidation } from "./invalidation.ts";
import type { MemberRole } from "./member-roles.ts";
import type { TxHandle } from "./transaction.ts";

/**
 * The rules that tie the capabilities together, stated once: what a change of one capability means
 * for the others. src/wiring/domain.ts hands these to the services it builds (and the tests build
 * their services through it). Each rule runs inside the changing transaction, so what it does
 * happens at commit or not at all.
 *
 * | change                               | consequence                                                  |
 * |--------------------------------------|--------------------------------------------------------------|
 * | client/channel created               | its built-in admin role is provisioned for the creator       |
 * | client/channel deleted               | its connections go (with their events), then its roles       |
 * | client/channel status, secret, delete| its cached authentications/authorizations are invalidated    |
 * | connections added or removed         | those tuples' cached authorizations (many: the channel's)    |
 * | a channel's roles, actions, members  | the channel's cached authorizations (users' rights)          |
 * | a client's roles                     | nothing cached depends on them                               |
 *
 * Kicks (the broker closes live sessions after commit, src/broker/kicker.ts), in the same transaction:
 *
 * | change                               | whose sessions                                               |
 * |--------------------------------------|--------------------------------------------------------------|
 * | client disabled, deleted, new secret | the client's                                                 |
 * | connections removed (also cascades)  | those connections' clients                                   |
 * | channel disabled                     | every client connected to it (deleting it removes them: above)|
 * | channel role deleted, its actions or members removed | those members' (users')                      |
 */

type EntityKind = "client" | "channel";

/** What the rules ask of the connections capability (src/connections/service.ts). */
interface ConnectionsRules {
  entityRemoving(tx: TxHandle, ctx: RequestContext, kind: EntityKind, id: string): Promise<void>;
  typeNames(side: EntityKind, domainId: string, otherId: string, ids: string[]): Promise<Map<string, string[]>>;
  clientsOf(tx: TxHandle, channelId: string): Promise<{ clientId: string; domainId: string }[]>;
}

/** What the rules ask of the roles capability (src/roles/service.ts). */
interface RolesRules {
  provisionBuiltIn(tx: TxHandle, ctx: RequestContext, kind: EntityKind, entityIds: string[]): Promise<unknown[][]>;
  entityRemoving(tx: TxHandle, kind: EntityKind, entityId: string): void;
  memberRoles(kind: EntityKind, entityIds: string[], memberId: string): Promise<Map<string, MemberRole[]>>;
}

/** Connections were added or removed: the authorization answers about exactly those tuples go. */
function connectionsChanged(tx: TxHandle, rows: { domainId: string; clientId: string; channelId: string; type: number }[]): void {
  for (const m of connectionInvalidations(rows)) tx.invalidate(m);
}

/** Connections were removed: their clients may no longer keep what they subscribed to, or publish. */
function connectionsRemoved(tx: TxHandle, rows: { domainId: string; clientId: string }[], reason: string): void {
  for (const r of rows) tx.kick({ clientId: r.clientId, domainId: r.domainId, reason });
}

/** A channel role change took rights away from these users: their sessions go (client roles grant no MQTT rights). */
function membersRevoked(tx: TxHandle, ctx: RequestContext, kind: EntityKind, memberIds: string[], reason: string): void {
  if (kind !== "channel") return;
  for (const id of memberIds) tx.kick({ clientId: id, domainId: ctx.domainId, reason });
}

/**
 * A role, its actions or its members changed on an entity. Users' publish/subscribe rights come
 * from channel roles: any change to them drops the channel's cached answers. Client roles grant
 * nothing the cache holds.
 */
function rolesChanged(tx: TxHandle, kind: EntityKind, entityId: string): void {
  if (kind === "channel") tx.invalidate(invalidation.channel(entityId));
}

/** What a client's or channel's changes mean for the other capabilities, alike for both kinds. */
function entityRules<Row extends { id: string }>(kind: EntityKind, other: { connections: ConnectionsRules; roles: RolesRules }): EntityHooks<Row> {
  const { connections, roles } = other;
  return {
    accessChanged: (tx, id) => tx.invalidate(invalidation[kind](id)),
    revoked: async (tx, row, reason) => {
      if (kind === "client") tx.kick({ clientId: row.id, domainId: row.domainId, reason });
      else for (const c of await connections.clientsOf(tx, row.id)) tx.kick({ ...c, reason });
    },
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
  };
}

/** The rules, as the wiring hands them to the services (src/wiring/domain.ts). */
export const rules = { connectionsChanged, connectionsRemoved, rolesChanged, membersRevoked, entityRules };
export type Rules = typeof rules;
