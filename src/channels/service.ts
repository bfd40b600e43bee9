import type { RequestContext } from "../domain/context.ts";
import type { EntityHooks, EntityService } from "../domain/entity.ts";
import { newId } from "../domain/ids.ts";
import { entityLifecycle } from "../domain/lifecycle.ts";
import { MAX_BULK } from "../domain/limits.ts";
import { ENABLED } from "../domain/status.ts";
import { type Micros, nowMicros } from "../domain/time.ts";
import type { Transactor } from "../domain/transaction.ts";
import { AppError, conflict, invalid, Msg, notFound, unprocessable } from "../errors/index.ts";
import { createdFields, updatedFields } from "./events.ts";
import type { ChannelsRepository } from "./repository.ts";
import type { Channel, ChannelChanges, ChannelUpdate, NewChannel } from "./types.ts";

/** Storage limit of a channel id (a caller-chosen id may be any non-blank string up to this). */
const MAX_ID = 36;

export interface ChannelsService extends EntityService<Channel, ChannelUpdate> {
  /** Creates all or none. */
  create(ctx: RequestContext, inputs: NewChannel[]): Promise<Channel[]>;
  /** gRPC RetrieveIDByRoute: the id of the channel with this route in the domain (any status). */
  idByRoute(domainId: string, route: string): Promise<string>;
}

type ChannelHooks = EntityHooks<Channel>;

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
  const life = entityLifecycle<Channel, ChannelChanges>({
    kind: "channel",
    db,
    store: repo,
    now,
    // The reference answers both set-parent conflicts of a channel with the generic message.
    sameParentMessage: Msg.entityExists,
    otherParentMessage: Msg.entityExists,
    hooks,
  });

  return {
    async create(ctx, inputs) {
      if (inputs.length > MAX_BULK) throw invalid(Msg.bulkTooLarge);
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
      await life.insertNew(ctx, channels, repo.insert, createdFields);
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
