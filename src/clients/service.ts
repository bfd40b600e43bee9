import type { SecretHasher } from "../auth/secrets.ts";
import { AppError, Msg, conflict, notFound, unprocessable } from "../errors/index.ts";
import { type Page, newId } from "../shared/ids.ts";
import { type Micros, nowMicros } from "../shared/time.ts";
import type { RequestContext, Transactor, TxHandle } from "../shared/tx.ts";
import { createdFields, emitEvent, statusFields, updatedFields } from "./events.ts";
import type { ClientChanges, ClientsRepository } from "./repository.ts";
import { type Client, type ClientUpdate, type CreatedClient, DISABLED, ENABLED, type EntityStatus, type ListFilter, type NewClient } from "./types.ts";

/** Storage limits of the reference schema; exceeding them is a 422, not a 400. */
const MAX_IDENTITY = 254;
const MAX_SECRET = 4096;

export interface ClientsService {
  create(ctx: RequestContext, inputs: NewClient[]): Promise<CreatedClient[]>;
  view(ctx: RequestContext, id: string): Promise<Client>;
  list(ctx: RequestContext, filter: ListFilter): Promise<Page<Client>>;
  update(ctx: RequestContext, id: string, update: ClientUpdate): Promise<Client>;
  updateTags(ctx: RequestContext, id: string, tags: string[]): Promise<Client>;
  updateSecret(ctx: RequestContext, id: string, secret: string): Promise<Client>;
  setStatus(ctx: RequestContext, id: string, status: EntityStatus): Promise<Client>;
  setParent(ctx: RequestContext, id: string, parentGroupId: string): Promise<void>;
  removeParent(ctx: RequestContext, id: string): Promise<void>;
  remove(ctx: RequestContext, id: string): Promise<void>;
}

/** Hooks other capabilities attach to client changes, run inside the same transaction. */
export interface ClientHooks {
  /** After the rows are inserted (built-in roles); returns the roles provisioned per client. */
  created?(tx: TxHandle, ctx: RequestContext, clients: Client[]): Promise<unknown[]>;
  /** Before the row is deleted (connections and roles cascade). */
  removing?(tx: TxHandle, ctx: RequestContext, client: Client): Promise<void>;
  /** After commit of anything that can change an authentication answer for this client. */
  credentialsChanged?(clientId: string): void;
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

  const stamp = (ctx: RequestContext): Pick<ClientChanges, "updatedAt" | "updatedBy"> => ({ updatedAt: now(), updatedBy: ctx.userId });
  const revoke = (tx: TxHandle, id: string) => tx.afterCommit(() => hooks.credentialsChanged?.(id));

  /** Updates an enabled client (a disabled one is 404, as in the reference) and emits `operation`. */
  async function updateEnabled(ctx: RequestContext, id: string, changes: ClientChanges, operation: string, onCommit?: (tx: TxHandle) => void) {
    return db.transact(async (tx) => {
      const updated = await repo.update(tx, ctx.domainId, id, { ...changes, ...stamp(ctx) }, { status: ENABLED });
      if (!updated) throw notFound();
      emitEvent(tx, ctx, operation, id, updatedFields(updated));
      onCommit?.(tx);
      return updated;
    });
  }

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
        for (const c of clients) emitEvent(tx, ctx, "client.create", c.id, createdFields(c, roles));
      });
      return drafts;
    },

    async view(ctx, id) {
      const client = await repo.find(ctx.domainId, id);
      if (!client) throw notFound();
      return client;
    },

    async list(ctx, filter) {
      const { total, items } = await repo.list(ctx.domainId, filter);
      return { total, limit: filter.limit, offset: filter.offset, items };
    },

    update(ctx, id, update) {
      const changes: ClientChanges = {};
      if (update.name) changes.name = update.name;
      if (update.metadata) changes.metadata = update.metadata;
      if (update.privateMetadata) changes.privateMetadata = update.privateMetadata;
      return updateEnabled(ctx, id, changes, "client.update");
    },

    updateTags(ctx, id, tags) {
      return updateEnabled(ctx, id, { tags }, "client.update_tags");
    },

    updateSecret(ctx, id, secret) {
      if (secret.length > MAX_SECRET) return Promise.reject(unprocessable(Msg.updateFailed));
      const secretHash = hasher.hash(ctx.domainId, secret);
      return updateEnabled(ctx, id, { secretHash }, "client.update_secret", (tx) => revoke(tx, id));
    },

    setStatus(ctx, id, status) {
      return db.transact(async (tx) => {
        const current = await repo.find(ctx.domainId, id, tx);
        if (!current) throw notFound();
        if (current.status === status) throw unprocessable(Msg.statusAssigned);
        const updated = await repo.update(tx, ctx.domainId, id, { status, ...stamp(ctx) });
        if (!updated) throw notFound();
        emitEvent(tx, ctx, status === DISABLED ? "client.disable" : "client.enable", id, statusFields(updated));
        revoke(tx, id);
        return updated;
      });
    },

    async setParent(ctx, id, parentGroupId) {
      await db.transact(async (tx) => {
        const current = await repo.find(ctx.domainId, id, tx);
        if (!current) throw notFound();
        if (current.parentGroupId === parentGroupId) throw new AppError("CONFLICT", Msg.sameParent);
        if (current.parentGroupId) throw new AppError("CONFLICT", Msg.otherParent);
        await repo.update(tx, ctx.domainId, id, { parentGroupId, ...stamp(ctx) });
        emitEvent(tx, ctx, "client.set_parent", id, { id, parent_group_id: parentGroupId });
      });
    },

    async removeParent(ctx, id) {
      await db.transact(async (tx) => {
        const current = await repo.find(ctx.domainId, id, tx);
        if (!current) throw notFound();
        if (!current.parentGroupId) return; // nothing to remove: no change, no event
        await repo.update(tx, ctx.domainId, id, { parentGroupId: null, ...stamp(ctx) });
        emitEvent(tx, ctx, "client.remove_parent", id, { id });
      });
    },

    async remove(ctx, id) {
      await db.transact(async (tx) => {
        const current = await repo.find(ctx.domainId, id, tx);
        if (!current) throw notFound();
        await hooks.removing?.(tx, ctx, current);
        await repo.remove(tx, ctx.domainId, id);
        emitEvent(tx, ctx, "client.remove", id, { id });
        revoke(tx, id);
      });
    },
  };
}
