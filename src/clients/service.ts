import type { SecretHasher } from "../auth/secrets.ts";
import type { RequestContext } from "../domain/context.ts";
import type { EntityHooks, EntityService } from "../domain/entity.ts";
import { newId } from "../domain/ids.ts";
import { entityLifecycle } from "../domain/lifecycle.ts";
import { MAX_BULK } from "../domain/limits.ts";
import { type Micros, nowMicros } from "../domain/time.ts";
import type { Transactor, TxHandle } from "../domain/transaction.ts";
import { conflict, invalid, Msg, unprocessable } from "../errors/index.ts";
import { createdFields, updatedFields } from "./events.ts";
import type { ClientChanges, ClientsRepository } from "./repository.ts";
import { type Client, type ClientUpdate, type CreatedClient, ENABLED, type NewClient } from "./types.ts";

/** Storage limits of the reference schema; exceeding them is a 422, not a 400. */
const MAX_IDENTITY = 254;
const MAX_SECRET = 4096;

export interface ClientsService extends EntityService<Client, ClientUpdate> {
  /** Creates all or none; each with the secret it was created with (shown once). */
  create(ctx: RequestContext, inputs: NewClient[]): Promise<CreatedClient[]>;
  updateSecret(ctx: RequestContext, id: string, secret: string): Promise<Client>;
  /** gRPC RetrieveEntities: the enabled clients among `ids`, oldest first. */
  retrieveEnabled(ids: string[]): Promise<Client[]>;
}

type ClientHooks = EntityHooks<Client>;

export interface ClientsServiceDeps {
  db: Transactor;
  repo: ClientsRepository;
  hasher: SecretHasher;
  hooks?: ClientHooks;
  newId?: () => string;
  now?: () => Micros;
}

export function createClientsService(deps: ClientsServiceDeps): ClientsService {
  const { db, repo, hasher, hooks = {} } = deps;
  const makeId = deps.newId ?? newId;
  const now = deps.now ?? nowMicros;

  const revoke = async (tx: TxHandle, row: Client) => {
    hooks.accessChanged?.(tx, row.id);
    await hooks.revoked?.(tx, row, "client.update_secret");
  };
  const life = entityLifecycle<Client, ClientChanges>({
    kind: "client",
    db,
    store: repo,
    now,
    sameParentMessage: Msg.sameParent,
    otherParentMessage: Msg.otherParent,
    hooks,
  });

  return {
    async create(ctx, inputs) {
      if (inputs.length > MAX_BULK) throw invalid(Msg.bulkTooLarge);
      const createdAt = now();
      const seenIds = new Set<string>();
      const seenSecrets = new Set<string>();
      const drafts = inputs.map((input): CreatedClient => {
        const secret = input.secret || makeId();
        const identity = input.identity ?? "";
        if (identity.length > MAX_IDENTITY || secret.length > MAX_SECRET) throw unprocessable(Msg.createFailed);
        const id = input.id || makeId();
        const secretHash = hasher.hash(ctx.domainId, secret);
        // Duplicates inside one bulk request fail like duplicates against stored rows.
        if (seenSecrets.has(secretHash)) throw conflict(Msg.secretTaken);
        if (seenIds.has(id)) throw unprocessable(Msg.createFailed);
        seenSecrets.add(secretHash);
        seenIds.add(id);
        const client: Client = {
          id,
          domainId: ctx.domainId,
          name: input.name ?? "",
          tags: input.tags ?? [],
          identity,
          secretHash,
          metadata: input.metadata ?? {},
          privateMetadata: input.privateMetadata ?? {},
          parentGroupId: input.parentGroupId || null,
          status: input.status ?? ENABLED,
          createdAt,
          updatedAt: null,
          updatedBy: null,
        };
        return { client, secret };
      });
      const clients = drafts.map((d) => d.client);
      await life.insertNew(ctx, clients, repo.insert, createdFields);
      return drafts;
    },

    update(ctx, id, update) {
      const changes: ClientChanges = {};
      if (update.name) changes.name = update.name;
      if (update.metadata) changes.metadata = update.metadata;
      if (update.privateMetadata) changes.privateMetadata = update.privateMetadata;
      return life.updateEnabled(ctx, id, changes, "client.update", updatedFields);
    },

    updateTags(ctx, id, tags) {
      return life.updateEnabled(ctx, id, { tags }, "client.update_tags", updatedFields);
    },

    updateSecret(ctx, id, secret) {
      if (secret.length > MAX_SECRET) return Promise.reject(unprocessable(Msg.updateFailed));
      const secretHash = hasher.hash(ctx.domainId, secret);
      return life.updateEnabled(ctx, id, { secretHash }, "client.update_secret", updatedFields, revoke);
    },

    setStatus: life.setStatus,
    setParent: life.setParent,
    removeParent: life.removeParent,

    view: life.view,
    viewWithRoles: life.viewWithRoles,
    list: life.list,
    remove: life.remove,
    retrieve: life.retrieve,
    retrieveEnabled: (ids) => repo.enabledAmong(ids),
    unsetParentGroup: life.unsetParentGroup,
  };
}
