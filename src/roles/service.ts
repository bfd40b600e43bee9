import { randomBytes } from "node:crypto";
import type { RequestContext } from "../domain/context.ts";
import { type Micros, nowMicros } from "../domain/time.ts";
import type { Transactor, TxHandle } from "../domain/transaction.ts";
import { invalid, Msg, notFound, unprocessable } from "../errors/index.ts";
import type { MaybePromise } from "../lib/maybe-promise.ts";
import { emitRoleEvent } from "./events.ts";
import { provisionJson, roleJson } from "./json.ts";
import type { RolesRepository } from "./repository.ts";
import {
  AVAILABLE_ACTIONS,
  BUILT_IN_ROLE,
  type EntityKind,
  type EntityMember,
  type EntityMembersFilter,
  type MemberRole,
  type Paged,
  type PageRequest,
  type Role,
  type RoleProvision,
  sortActions,
} from "./types.ts";

/** The entity lookup the roles service needs (clients and channels repositories have it). */
interface EntityLookup {
  find(domainId: string, id: string, tx?: TxHandle): MaybePromise<{ id: string } | undefined>;
}

export interface RolesServiceDeps {
  db: Transactor;
  repos: Record<EntityKind, RolesRepository>;
  entities: Record<EntityKind, EntityLookup>;
  /**
   * After the commit of every change that can alter a user's rights on an entity (role created or
   * deleted, actions or members added or removed, entity created or deleted); never on rollback.
   * The authorization cache invalidates the entity's answers here.
   */
  /**
   * Inside the transaction of every change that can alter a user's rights on an entity (the
   * authorization cache publishes an invalidation with `tx.invalidate`, delivered at commit).
   */
  rolesChanged?: (tx: TxHandle, kind: EntityKind, entityId: string) => void;
  /**
   * Inside the transaction of a change that may take rights away from these members (a role
   * deleted, its actions or members removed): their live broker sessions are kicked.
   */
  membersRevoked?: (tx: TxHandle, ctx: RequestContext, kind: EntityKind, memberIds: string[], reason: string) => void;
  /** Role id suffix (default: 20 random base-36 characters). */
  newShortId?: () => string;
  now?: () => Micros;
}

interface NewRoleInput {
  name: string;
  /** null/undefined when the request did not give them (echoed as null). */
  actions?: string[] | null;
  members?: string[] | null;
}

export interface RolesService {
  availableActions(kind: EntityKind): readonly string[];
  create(ctx: RequestContext, kind: EntityKind, entityId: string, input: NewRoleInput): Promise<RoleProvision>;
  list(ctx: RequestContext, kind: EntityKind, entityId: string, page: PageRequest): Promise<Paged<Role>>;
  view(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string): Promise<Role>;
  rename(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, name: string): Promise<Role>;
  remove(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string): Promise<void>;

  addActions(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, actions: string[]): Promise<string[]>;
  listActions(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string): Promise<string[]>;
  /** `actions` undefined: all of them. Absent actions are a no-op. */
  removeActions(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, actions?: string[]): Promise<void>;

  addMembers(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, members: string[]): Promise<string[]>;
  listMembers(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, page: PageRequest): Promise<Paged<string>>;
  /** `members` undefined: all of them. Absent members are a no-op. */
  removeMembers(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, members?: string[]): Promise<void>;

  /** The entity's members with their roles. */
  entityMembers(ctx: RequestContext, kind: EntityKind, entityId: string, filter: EntityMembersFilter): Promise<Paged<EntityMember>>;
  /** Removes these users from every role of the entity (`DELETE …/roles`). */
  removeEntityMembers(ctx: RequestContext, kind: EntityKind, entityId: string, memberIds: string[]): Promise<void>;

  // For the clients and channels services (hooks wired in main.ts).
  /**
   * Inside the creating transaction: the built-in `admin` role of each new entity. Returns, per
   * entity in order, its RoleProvision objects for that entity's create event. Each event carries
   * its own entity's role, not the whole batch's: the whole batch in every event of a bulk create
   * of N would write N² RoleProvisions to the outbox (1,000 clients: ~470 MB, ~10 s).
   */
  provisionBuiltIn(tx: TxHandle, ctx: RequestContext, kind: EntityKind, entityIds: string[]): Promise<Record<string, unknown>[][]>;
  /** Inside the deleting transaction: the foreign keys delete the roles; this tells the caches after commit. */
  entityRemoving(tx: TxHandle, kind: EntityKind, entityId: string): void;
  /** `memberId`'s roles on each of `entityIds` (only those on which it has one). */
  memberRoles(kind: EntityKind, entityIds: string[], memberId: string): Promise<Map<string, MemberRole[]>>;

  /**
   * For gRPC Authorize of users: whether `userId` holds `action` on the channel through a role
   * of that channel, the channel being in `domainId`. One prepared statement on the read
   * connection (synchronous on SQLite). The super-admin check is the caller's.
   */
  userMayAccessChannel(domainId: string, userId: string, channelId: string, action: "publish" | "subscribe"): boolean | Promise<boolean>;
}

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * 20 base-36 characters: the creation time in milliseconds (9 characters, good until the year
 * 5188), then 11 random ones (~57 bits). Ids that grow with time put a new role's rows at the end
 * of every index keyed by role id (the roles, their actions and members), so a create dirties a
 * few pages there instead of one random page per index: on SQLite a create then writes (and
 * fsyncs) a third less WAL (docs/performance.md, "POST and the role ids").
 */
function shortId(): string {
  const bytes = randomBytes(11);
  let s = Date.now().toString(36).padStart(9, "0");
  for (const b of bytes) s += ALPHABET[b % 36];
  return s;
}

/**
 * Splits Authorize's user `client_id`: `<domainID>_<userID>` (a domain-scoped user), or a bare user
 * id (the super-admin). User ids are UUIDs (no `_`), so the last `_` separates the two.
 */
export function parseDomainUserId(clientId: string): { domainId?: string; userId: string } {
  const at = clientId.lastIndexOf("_");
  if (at < 0) return { userId: clientId };
  return { domainId: clientId.slice(0, at), userId: clientId.slice(at + 1) };
}

const hasDuplicates = (xs: string[]) => new Set(xs).size < xs.length;

export function createRolesService(deps: RolesServiceDeps): RolesService {
  const { db, repos, entities } = deps;
  const now = deps.now ?? nowMicros;
  const makeShortId = deps.newShortId ?? shortId;
  const changed = (tx: TxHandle, kind: EntityKind, entityId: string) => {
    deps.rolesChanged?.(tx, kind, entityId);
  };
  const revoked = (tx: TxHandle, ctx: RequestContext, kind: EntityKind, memberIds: string[], reason: string) => {
    if (memberIds.length > 0) deps.membersRevoked?.(tx, ctx, kind, memberIds, reason);
  };
  /** Every member of a role (whose rights a role delete or an action removal may take away). */
  const allMembers = async (kind: EntityKind, roleId: string) => (await repos[kind].membersOf(roleId, { limit: 1_000_000, offset: 0 })).items;

  function validateActions(kind: EntityKind, actions: string[]): void {
    const allowed = AVAILABLE_ACTIONS[kind];
    if (actions.some((a) => !allowed.includes(a))) throw invalid(Msg.invalidAction);
  }
  function validateMembers(members: string[]): void {
    if (members.some((m) => m.trim() === "")) throw invalid(Msg.emptyRoleMembers);
  }

  async function entityOf(ctx: RequestContext, kind: EntityKind, entityId: string, tx?: TxHandle): Promise<void> {
    if (!(await entities[kind].find(ctx.domainId, entityId, tx))) throw notFound();
  }

  /** The entity (404) and its role (404), inside `tx` when given. */
  async function roleOf(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, tx?: TxHandle): Promise<Role> {
    await entityOf(ctx, kind, entityId, tx);
    const role = await repos[kind].find(entityId, roleId, tx);
    if (!role) throw notFound();
    return role;
  }

  /** One write on one role: look both up in the transaction, run `fn`. */
  function onRole<T>(ctx: RequestContext, kind: EntityKind, entityId: string, roleId: string, fn: (tx: TxHandle, role: Role) => Promise<T>): Promise<T> {
    return db.transact(async (tx) => fn(tx, await roleOf(ctx, kind, entityId, roleId, tx)));
  }

  const page = <T>(p: PageRequest, r: { total: number; items: T[] }): Paged<T> => ({ total: r.total, limit: p.limit, offset: p.offset, items: r.items });

  return {
    availableActions: (kind) => AVAILABLE_ACTIONS[kind],

    async create(ctx, kind, entityId, input) {
      const actions = input.actions ?? [];
      const members = input.members ?? [];
      validateActions(kind, actions);
      validateMembers(members);
      return db.transact(async (tx) => {
        await entityOf(ctx, kind, entityId, tx);
        const repo = repos[kind];
        // The same action or member twice, or a member who already holds a role on the entity.
        if (hasDuplicates(actions) || hasDuplicates(members)) throw unprocessable(Msg.createFailed);
        if (members.length > 0 && (await repo.memberships(tx, entityId, members)).length > 0) throw unprocessable(Msg.createFailed);
        const role: Role = {
          id: `${kind}_${makeShortId()}`,
          entityId,
          name: input.name,
          createdBy: ctx.userId,
          createdAt: now(),
          updatedBy: null,
          updatedAt: null,
        };
        await repo.insert(tx, [{ role, actions, members }]);
        const provision: RoleProvision = { role, actions: input.actions ?? null, members: input.members ?? null };
        emitRoleEvent(tx, ctx, kind, entityId, "role.add", provisionJson(provision));
        changed(tx, kind, entityId);
        return provision;
      });
    },

    async list(ctx, kind, entityId, p) {
      await entityOf(ctx, kind, entityId);
      return page(p, await repos[kind].list(entityId, p));
    },

    view: (ctx, kind, entityId, roleId) => roleOf(ctx, kind, entityId, roleId),

    rename(ctx, kind, entityId, roleId, name) {
      return onRole(ctx, kind, entityId, roleId, async (tx, role) => {
        const renamed = (await repos[kind].rename(tx, role.id, name, ctx.userId, now()))!;
        const { id, name: n, entity_id, created_by, created_at, updated_by, updated_at } = roleJson(renamed);
        emitRoleEvent(tx, ctx, kind, entityId, "role.update", { id, name: n, entity_id, created_by, created_at, updated_by, updated_at });
        return renamed;
      });
    },

    async remove(ctx, kind, entityId, roleId) {
      await onRole(ctx, kind, entityId, roleId, async (tx, role) => {
        const members = deps.membersRevoked ? await allMembers(kind, role.id) : [];
        await repos[kind].remove(tx, role.id);
        emitRoleEvent(tx, ctx, kind, entityId, "role.remove", { entity_id: entityId, role_id: role.id });
        changed(tx, kind, entityId);
        revoked(tx, ctx, kind, members, `${kind}.role.remove`);
      });
    },

    async addActions(ctx, kind, entityId, roleId, actions) {
      validateActions(kind, actions);
      await onRole(ctx, kind, entityId, roleId, async (tx, role) => {
        if (hasDuplicates(actions)) throw unprocessable(Msg.addPolicies);
        await repos[kind].addActions(tx, role.id, actions);
        await repos[kind].touch(tx, role.id, ctx.userId, now());
        emitRoleEvent(tx, ctx, kind, entityId, "role.actions.add", { entity_id: entityId, role_id: role.id, actions });
        changed(tx, kind, entityId);
      });
      return actions;
    },

    async listActions(ctx, kind, entityId, roleId) {
      const role = await roleOf(ctx, kind, entityId, roleId);
      return sortActions(kind, await repos[kind].actionsOf(role.id));
    },

    async removeActions(ctx, kind, entityId, roleId, actions) {
      await onRole(ctx, kind, entityId, roleId, async (tx, role) => {
        // Nothing removed: no change, no event.
        if ((await repos[kind].removeActions(tx, role.id, actions)) === 0) return;
        await repos[kind].touch(tx, role.id, ctx.userId, now());
        if (actions) emitRoleEvent(tx, ctx, kind, entityId, "role.actions.remove", { entity_id: entityId, role_id: role.id, actions });
        else emitRoleEvent(tx, ctx, kind, entityId, "role.actions.remove_all", { entity_id: entityId, role_id: role.id });
        changed(tx, kind, entityId);
        if (deps.membersRevoked) revoked(tx, ctx, kind, await allMembers(kind, role.id), `${kind}.role.actions.remove`);
      });
    },

    async addMembers(ctx, kind, entityId, roleId, members) {
      validateMembers(members);
      await onRole(ctx, kind, entityId, roleId, async (tx, role) => {
        if (hasDuplicates(members)) throw unprocessable(Msg.addPolicies);
        const held = new Map((await repos[kind].memberships(tx, entityId, members)).map((m) => [m.memberId, m.roleId]));
        for (const m of members) {
          const current = held.get(m);
          if (current === role.id) throw unprocessable(Msg.addPolicies); // already in this role
          if (current !== undefined) throw unprocessable(Msg.createFailed); // one role per member per entity
        }
        await repos[kind].addMembers(tx, entityId, role.id, members);
        await repos[kind].touch(tx, role.id, ctx.userId, now());
        emitRoleEvent(tx, ctx, kind, entityId, "role.members.add", { entity_id: entityId, role_id: role.id, members });
        changed(tx, kind, entityId);
      });
      return members;
    },

    async listMembers(ctx, kind, entityId, roleId, p) {
      const role = await roleOf(ctx, kind, entityId, roleId);
      return page(p, await repos[kind].membersOf(role.id, p));
    },

    async removeMembers(ctx, kind, entityId, roleId, members) {
      await onRole(ctx, kind, entityId, roleId, async (tx, role) => {
        const removed = await repos[kind].removeMembers(tx, role.id, members);
        if (removed.length === 0) return;
        await repos[kind].touch(tx, role.id, ctx.userId, now());
        if (members) emitRoleEvent(tx, ctx, kind, entityId, "role.members.remove", { entity_id: entityId, role_id: role.id, members });
        else emitRoleEvent(tx, ctx, kind, entityId, "role.members.remove_all", { entity_id: entityId, role_id: role.id });
        changed(tx, kind, entityId);
        revoked(tx, ctx, kind, removed, `${kind}.role.members.remove`);
      });
    },

    async entityMembers(ctx, kind, entityId, filter) {
      await entityOf(ctx, kind, entityId);
      const repo = repos[kind];
      const rows = await repo.entityMembers(entityId, filter);
      const actions = await repo.actionsOfRoles([...new Set(rows.items.map((r) => r.roleId))]);
      const byMember = new Map<string, EntityMember>();
      for (const r of rows.items) {
        const m = byMember.get(r.memberId) ?? { memberId: r.memberId, roles: [] };
        m.roles.push({ roleId: r.roleId, roleName: r.roleName, actions: sortActions(kind, actions.get(r.roleId) ?? []) });
        byMember.set(r.memberId, m);
      }
      return page(filter, { total: rows.total, items: [...byMember.values()] });
    },

    async removeEntityMembers(ctx, kind, entityId, memberIds) {
      validateMembers(memberIds);
      await db.transact(async (tx) => {
        await entityOf(ctx, kind, entityId, tx);
        const removed = await repos[kind].removeEntityMembers(tx, entityId, memberIds);
        if (removed.length === 0) return;
        const at = now();
        for (const roleId of new Set(removed.map((r) => r.roleId))) await repos[kind].touch(tx, roleId, ctx.userId, at);
        emitRoleEvent(tx, ctx, kind, entityId, "members.remove", { entity_id: entityId, members: memberIds });
        changed(tx, kind, entityId);
        revoked(tx, ctx, kind, [...new Set(removed.map((r) => r.memberId))], `${kind}.members.remove`);
      });
    },

    async provisionBuiltIn(tx, ctx, kind, entityIds) {
      const createdAt = now();
      const actions = [...AVAILABLE_ACTIONS[kind]];
      const provisions: RoleProvision[] = entityIds.map((entityId) => ({
        role: { id: `${kind}_${makeShortId()}`, entityId, name: BUILT_IN_ROLE, createdBy: ctx.userId, createdAt, updatedBy: null, updatedAt: null },
        actions,
        members: [ctx.userId],
      }));
      await repos[kind].insert(
        tx,
        provisions.map((p) => ({ role: p.role, actions, members: p.members! })),
      );
      for (const id of entityIds) changed(tx, kind, id);
      return provisions.map((p) => [provisionJson(p)]);
    },

    entityRemoving(tx, kind, entityId) {
      changed(tx, kind, entityId);
    },

    async memberRoles(kind, entityIds, memberId) {
      const roles = await repos[kind].memberRolesOn(entityIds, memberId);
      for (const list of roles.values()) for (const r of list) r.actions = sortActions(kind, r.actions);
      return roles;
    },

    userMayAccessChannel(domainId, userId, channelId, action) {
      return repos.channel.memberHasAction(domainId, channelId, userId, action);
    },
  };
}
