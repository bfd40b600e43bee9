import type { SecretHasher } from "../auth/secrets.ts";
import type { MemberRole, WithRoles } from "../shared/access.ts";
import { Msg, conflict, unprocessable } from "../errors/index.ts";
import { type Page, newId } from "../shared/ids.ts";
import { type Micros, nowMicros } from "../shared/time.ts";
import type { RequestContext, Transactor, TxHandle } from "../shared/tx.ts";
import { emitEvent } from "../events/emit.ts";
import { entityLifecycle } from "../shared/lifecycle.ts";
import { createdFields, updatedFields } from "./events.ts";
import type { ClientChanges, ClientsRepository } from "./repository.ts";
import { type Client, type ClientUpdate, type CreatedClient, ENABLED, type EntityStatus, type ListFilter, type NewClient } from "./types.ts";

/** Storage limits of the reference schema; exceeding them is a 422, not a 400. */
const MAX_IDENTITY = 254;
const MAX_SECRET = 4096;

export interface ClientsService {
  create(ctx: RequestContext, inputs: NewClient[]): Promise<CreatedClient[]>;
  view(ctx: RequestContext, id: string): Promise<Client>;
  /** `GET …?roles=true`: the client with the caller's roles on it (none: 404). */
  viewWithRoles(ctx: RequestContext, id: string): Promise<WithRoles<Client>>;
  list(ctx: RequestContext, filter: ListFilter): Promise<Page<Client>>;
  update(ctx: RequestContext, id: string, update: ClientUpdate): Promise<Client>;
  updateTags(ctx: RequestContext, id: string, tags: string[]): Promise<Client>;
  updateSecret(ctx: RequestContext, id: string, secret: string): Promise<Client>;
  setStatus(ctx: RequestContext, id: string, status: EntityStatus): Promise<Client>;
  setParent(ctx: RequestContext, id: string, parentGroupId: string): Promise<void>;
  removeParent(ctx: RequestContext, id: string): Promise<void>;
  remove(ctx: RequestContext, id: string): Promise<void>;
  /** gRPC: any domain and status; unknown → `entity not found`. */
  retrieve(id: string): Promise<Client>;
  /** gRPC RetrieveEntities: the enabled clients among `ids`, oldest first. */
  retrieveEnabled(ids: string[]): Promise<Client[]>;
  /** gRPC: clears the parent group on every client having it; returns how many. */
  unsetParentGroup(parentGroupId: string): Promise<number>;
}

/** Hooks other capabilities attach to client changes, run inside the same transaction. */
export interface ClientHooks {
  /**
   * After the rows are inserted (built-in roles); returns, for each client in order, the roles
   * provisioned for it (its create event's `roles_provisioned`).
   */
  created?(tx: TxHandle, ctx: RequestContext, clients: Client[]): Promise<unknown[][]>;
  /** Before the row is deleted (connections and roles cascade). */
  removing?(tx: TxHandle, ctx: RequestContext, client: Client): Promise<void>;
  /** Inside the transaction of anything that can change an authentication or authorization answer for this client. */
  credentialsChanged?(tx: TxHandle, clientId: string): void;
  /** Listing the clients of a channel: each client's connection types. */
  connectionTypes?(domainId: string, channelId: string, clientIds: string[]): Promise<Map<string, string[]>>;
  /** A user's roles on each of these clients (`?roles=true`, `user=` lists). */
  memberRoles?(clientIds: string[], memberId: string): Promise<Map<string, MemberRole[]>>;
}

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

  const revoke = (tx: TxHandle, id: string) => hooks.credentialsChanged?.(tx, id);
  const life = entityLifecycle<Client, ClientChanges>({
    kind: "client",
    db,
    store: repo,
    now,
    sameParentMessage: Msg.sameParent,
    otherParentMessage: Msg.otherParent,
    statusChanged: revoke,
    removing: hooks.removing,
    connectionTypes: hooks.connectionTypes,
    memberRoles: hooks.memberRoles,
  });

  return {
    async create(ctx, inputs) {
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
      await db.transact(async (tx) => {
        await repo.insert(tx, clients);
        const roles = (await hooks.created?.(tx, ctx, clients)) ?? [];
        clients.forEach((c, i) => emitEvent(tx, ctx, "client.create", c.id, createdFields(c, roles[i] ?? [])));
      });
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
      return life.updateEnabled(ctx, id, { secretHash }, "client.update_secret", updatedFields, (tx) => revoke(tx, id));
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
