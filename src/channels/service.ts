import { AppError, Msg, conflict, notFound, unprocessable } from "../errors/index.ts";
import type { MemberRole, WithRoles } from "../shared/access.ts";
import { emitEvent } from "../events/emit.ts";
import { type Page, newId } from "../shared/ids.ts";
import { entityLifecycle } from "../shared/lifecycle.ts";
import type { ListFilter } from "../shared/list.ts";
import { ENABLED, type EntityStatus } from "../shared/status.ts";
import { type Micros, nowMicros } from "../shared/time.ts";
import type { RequestContext, Transactor, TxHandle } from "../shared/tx.ts";
import { createdFields, updatedFields } from "./events.ts";
import type { ChannelsRepository } from "./repository.ts";
import type { Channel, ChannelChanges, ChannelUpdate, NewChannel } from "./types.ts";

/** Storage limit of a channel id (a caller-chosen id may be any non-blank string up to this). */
const MAX_ID = 36;

export interface ChannelsService {
  create(ctx: RequestContext, inputs: NewChannel[]): Promise<Channel[]>;
  view(ctx: RequestContext, id: string): Promise<Channel>;
  /** `GET …?roles=true`: the channel with the caller's roles on it (none: 404). */
  viewWithRoles(ctx: RequestContext, id: string): Promise<WithRoles<Channel>>;
  list(ctx: RequestContext, filter: ListFilter): Promise<Page<Channel>>;
  update(ctx: RequestContext, id: string, update: ChannelUpdate): Promise<Channel>;
  updateTags(ctx: RequestContext, id: string, tags: string[]): Promise<Channel>;
  setStatus(ctx: RequestContext, id: string, status: EntityStatus): Promise<Channel>;
  setParent(ctx: RequestContext, id: string, parentGroupId: string): Promise<void>;
  removeParent(ctx: RequestContext, id: string): Promise<void>;
  remove(ctx: RequestContext, id: string): Promise<void>;
  /** gRPC: any domain and status; unknown → `entity not found`. */
  retrieve(id: string): Promise<Channel>;
  /** gRPC RetrieveIDByRoute: the id of the channel with this route in the domain (any status). */
  idByRoute(domainId: string, route: string): Promise<string>;
  /** gRPC: clears the parent group on every channel having it; returns how many. */
  unsetParentGroup(parentGroupId: string): Promise<number>;
}

/** Hooks other capabilities attach to channel changes (same shape as the clients' hooks). */
export interface ChannelHooks {
  /** After the rows are inserted (built-in roles); returns, for each channel in order, the roles provisioned for it. */
  created?(tx: TxHandle, ctx: RequestContext, channels: Channel[]): Promise<unknown[][]>;
  /** Before the row is deleted (connections and roles cascade). */
  removing?(tx: TxHandle, ctx: RequestContext, channel: Channel): Promise<void>;
  /** Inside the transaction of a status change or delete (authorization caches invalidate at commit). */
  statusChanged?(tx: TxHandle, channelId: string): void;
  /** Listing the channels of a client: each channel's connection types. */
  connectionTypes?(domainId: string, clientId: string, channelIds: string[]): Promise<Map<string, string[]>>;
  /** A user's roles on each of these channels (`?roles=true`, `user=` lists). */
  memberRoles?(channelIds: string[], memberId: string): Promise<Map<string, MemberRole[]>>;
}

export interface ChannelsServiceDeps {
  db: Transactor;
  repo: ChannelsRepository;
  hooks?: ChannelHooks;
  newId?: () => string;
  now?: () => Micros;
}

export function createChannelsService(deps: ChannelsServiceDeps): ChannelsService {
  const { db, repo, hooks = {} } = deps;
  const makeId = deps.newId ?? newId;
  const now = deps.now ?? nowMicros;
  const changed = (tx: TxHandle, id: string) => hooks.statusChanged?.(tx, id);
  const life = entityLifecycle<Channel, ChannelChanges>({
    kind: "channel",
    db,
    store: repo,
    now,
    // The reference answers both set-parent conflicts of a channel with the generic message.
    sameParentMessage: Msg.entityExists,
    otherParentMessage: Msg.entityExists,
    statusChanged: changed,
    removing: hooks.removing,
    connectionTypes: hooks.connectionTypes,
    memberRoles: hooks.memberRoles,
  });

  return {
    async create(ctx, inputs) {
      const createdAt = now();
      const ids = new Set<string>();
      const routes = new Set<string>();
      const channels = inputs.map((input): Channel => {
        const id = input.id || makeId();
        if (id.length > MAX_ID) throw unprocessable(Msg.createFailed);
        if (ids.has(id)) throw conflict(Msg.channelIdTaken);
        ids.add(id);
        if (input.route) {
          if (routes.has(input.route)) throw conflict(Msg.routeTaken);
          routes.add(input.route);
        }
        return {
          id,
          domainId: ctx.domainId,
          name: input.name ?? "",
          tags: input.tags ?? [],
          metadata: input.metadata ?? {},
          route: input.route || null,
          parentGroupId: input.parentGroupId || null,
          status: input.status ?? ENABLED,
          createdAt,
          updatedAt: null,
          updatedBy: null,
        };
      });
      await db.transact(async (tx) => {
        await repo.insert(tx, channels);
        const roles = (await hooks.created?.(tx, ctx, channels)) ?? [];
        channels.forEach((c, i) => emitEvent(tx, ctx, "channel.create", c.id, createdFields(c, roles[i] ?? [])));
      });
      return channels;
    },

    update(ctx, id, update) {
      const changes: ChannelChanges = {};
      if (update.name) changes.name = update.name;
      if (update.metadata) changes.metadata = update.metadata;
      return life.updateEnabled(ctx, id, changes, "channel.update", updatedFields);
    },

    updateTags(ctx, id, tags) {
      return life.updateEnabled(ctx, id, { tags }, "channel.update_tags", updatedFields);
    },

    setStatus: life.setStatus,
    setParent: life.setParent,
    removeParent: life.removeParent,

    view: life.view,
    viewWithRoles: life.viewWithRoles,
    list: life.list,
    remove: life.remove,
    retrieve: life.retrieve,
    async idByRoute(domainId, route) {
      if (route === "") throw new AppError("INTERNAL", "missing route");
      if (domainId === "") throw new AppError("INTERNAL", "missing domainID");
      const channel = await repo.findByRoute(domainId, route);
      if (!channel) throw notFound();
      return channel.id;
    },
    unsetParentGroup: life.unsetParentGroup,
  };
}
