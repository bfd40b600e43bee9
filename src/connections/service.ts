import { connectionTypeName } from "../domain/connection-types.ts";
import { type RequestContext, systemContext } from "../domain/context.ts";
import { emitEvent } from "../domain/events.ts";
import { MAX_CONNECTIONS } from "../domain/limits.ts";
import { ENABLED } from "../domain/status.ts";
import type { Transactor, TxHandle } from "../domain/transaction.ts";
import { AppError, invalid, Msg, notFound, unprocessable } from "../errors/index.ts";
import type { Connection, ConnectionSet, ConnectionsRepository } from "./repository.ts";

interface Entity {
  id: string;
  domainId: string;
  status: number;
}

/** The entity lookups connect/disconnect need (rows of any domain, so foreign ids are told apart). */
interface EntityLookup {
  findMany(ids: string[], tx: TxHandle): Promise<Entity[]>;
}

export interface ConnectionsServiceDeps {
  db: Transactor;
  repo: ConnectionsRepository;
  clients: EntityLookup;
  channels: EntityLookup;
  /** Inside the transaction of any change to connections (the authorization cache invalidates at commit). */
  changed?: (tx: TxHandle, rows: Connection[]) => void;
  /** Inside the transaction that removed these connections: their clients' live sessions are kicked. */
  removed?: (tx: TxHandle, rows: Connection[], reason: string) => void;
}

export type ConnectionRequest = Omit<ConnectionSet, "domainId">;

export interface ConnectionsService {
  connect(ctx: RequestContext, req: ConnectionRequest): Promise<void>;
  disconnect(ctx: RequestContext, req: ConnectionRequest): Promise<void>;
  /** Cascades, inside the deleting transaction: removes the connections and says so in events. */
  entityRemoving(tx: TxHandle, ctx: RequestContext, kind: "client" | "channel", id: string): Promise<void>;
  /**
   * gRPC bookkeeping calls of other services and adapters (trusted by the network): no session;
   * their events carry the rows' domain and a fresh request id.
   */
  addConnections(rows: Connection[]): Promise<void>;
  removeConnections(rows: Connection[]): Promise<void>;
  removeChannelConnections(channelId: string): Promise<void>;
  removeClientConnections(clientId: string): Promise<void>;
  /** The clients connected to a channel (any type), inside a transaction: whose sessions a channel's disable ends. */
  clientsOf(tx: TxHandle, channelId: string): Promise<{ clientId: string; domainId: string }[]>;
  /** For list pages: the types connecting each of `ids` to `otherId` ("Publish"/"Subscribe"). */
  typeNames(side: "client" | "channel", domainId: string, otherId: string, ids: string[]): Promise<Map<string, string[]>>;
}

const unique = <T>(xs: T[]) => [...new Set(xs)];

function eventFields(channelIds: string[], clientIds: string[], types: number[]) {
  return { channel_ids: channelIds, client_ids: clientIds, types: types.map(connectionTypeName) };
}

export function createConnectionsService(deps: ConnectionsServiceDeps): ConnectionsService {
  const { db, repo } = deps;
  const notify = (tx: TxHandle, rows: Connection[]) => {
    if (rows.length > 0) deps.changed?.(tx, rows);
  };
  const notifyRemoved = (tx: TxHandle, rows: Connection[], reason: string) => {
    notify(tx, rows);
    if (rows.length > 0) deps.removed?.(tx, rows, reason);
  };

  /** Loads the entities of `ids`; `check` decides per id in request order (first failure wins). */
  async function load(tx: TxHandle, lookup: EntityLookup, ids: string[], check: (id: string, row: Entity | undefined) => void) {
    const rows = new Map((await lookup.findMany(unique(ids), tx)).map((r) => [r.id, r]));
    for (const id of ids) check(id, rows.get(id));
  }

  /**
   * One `operation` event per channel and type, describing exactly these rows. `ctxFor` gives the
   * context of a domain (the caller's session, or a system context for gRPC calls).
   */
  function emitPerChannel(tx: TxHandle, ctxFor: (domainId: string) => RequestContext, operation: string, rows: Connection[]) {
    const groups = new Map<string, { domainId: string; channelId: string; type: number; clientIds: string[] }>();
    for (const r of rows) {
      const key = `${r.domainId}\u0000${r.channelId}\u0000${r.type}`;
      const g = groups.get(key);
      if (g) g.clientIds.push(r.clientId);
      else groups.set(key, { domainId: r.domainId, channelId: r.channelId, type: r.type, clientIds: [r.clientId] });
    }
    const contexts = new Map<string, RequestContext>();
    for (const g of groups.values()) {
      let ctx = contexts.get(g.domainId);
      if (!ctx) contexts.set(g.domainId, (ctx = ctxFor(g.domainId)));
      emitEvent(tx, ctx, operation, g.channelId, eventFields([g.channelId], g.clientIds, [g.type]));
    }
  }
  const emitRemoved = (tx: TxHandle, ctx: RequestContext, removed: Connection[]) => emitPerChannel(tx, () => ctx, "channel.disconnect", removed);
  const removedBySystem = (tx: TxHandle, removed: Connection[]) => {
    emitPerChannel(tx, systemContext, "channel.disconnect", removed);
    notifyRemoved(tx, removed, "channel.disconnect");
  };

  /** A request's tuples within MAX_CONNECTIONS (checked before any lookup). */
  const bounded = (req: ConnectionRequest) => {
    if (req.channelIds.length * req.clientIds.length * req.types.length > MAX_CONNECTIONS) throw invalid(Msg.connectionsTooMany);
  };

  return {
    async connect(ctx, req) {
      bounded(req);
      await db.transact(async (tx) => {
        const d = ctx.domainId;
        await load(tx, deps.channels, req.channelIds, (_, ch) => {
          if (!ch) throw notFound();
          if (ch.domainId !== d || ch.status !== ENABLED) throw unprocessable(Msg.createFailed);
        });
        await load(tx, deps.clients, req.clientIds, (_, cl) => {
          if (!cl || cl.domainId !== d || cl.status !== ENABLED) throw unprocessable(Msg.createFailed);
        });
        const set = { domainId: d, channelIds: unique(req.channelIds), clientIds: unique(req.clientIds), types: unique(req.types) };
        if ((await repo.existing(tx, set)).length > 0) throw new AppError("CONFLICT", Msg.entityExists);
        if (set.channelIds.length < req.channelIds.length || set.clientIds.length < req.clientIds.length || set.types.length < req.types.length)
          throw unprocessable(Msg.createFailed); // the same tuple twice in one request
        const rows: Connection[] = [];
        for (const channelId of set.channelIds)
          for (const clientId of set.clientIds) for (const type of set.types) rows.push({ channelId, domainId: d, clientId, type });
        await repo.insert(tx, rows);
        emitEvent(tx, ctx, "channel.connect", req.channelIds[0]!, eventFields(req.channelIds, req.clientIds, req.types));
        notify(tx, rows);
      });
    },

    async disconnect(ctx, req) {
      bounded(req);
      await db.transact(async (tx) => {
        const d = ctx.domainId;
        await load(tx, deps.channels, req.channelIds, (_, ch) => {
          if (!ch) throw notFound();
          if (ch.domainId !== d) throw unprocessable(Msg.removeFailed);
        });
        await load(tx, deps.clients, req.clientIds, (_, cl) => {
          if (!cl || cl.domainId !== d) throw unprocessable(Msg.removeFailed);
        });
        const removed = await repo.removeSet(tx, {
          domainId: d,
          channelIds: unique(req.channelIds),
          clientIds: unique(req.clientIds),
          types: unique(req.types),
        });
        emitEvent(tx, ctx, "channel.disconnect", req.channelIds[0]!, eventFields(req.channelIds, req.clientIds, req.types));
        notifyRemoved(tx, removed, "channel.disconnect");
      });
    },

    async entityRemoving(tx, ctx, kind, id) {
      const removed = kind === "client" ? await repo.removeByClient(tx, id) : await repo.removeByChannel(tx, id);
      emitRemoved(tx, ctx, removed);
      notifyRemoved(tx, removed, `${kind}.remove`);
    },

    async addConnections(rows) {
      if (rows.length === 0) return;
      if (rows.length > MAX_CONNECTIONS) throw invalid(Msg.connectionsTooMany);
      await db.transact(async (tx) => {
        // Every client and channel must exist in the connection's domain (no cross-domain rows).
        const domainOf = async (lookup: EntityLookup, ids: string[]) => new Map((await lookup.findMany(unique(ids), tx)).map((r) => [r.id, r.domainId]));
        const clientDomains = await domainOf(
          deps.clients,
          rows.map((r) => r.clientId),
        );
        const channelDomains = await domainOf(
          deps.channels,
          rows.map((r) => r.channelId),
        );
        for (const r of rows) {
          if (clientDomains.get(r.clientId) !== r.domainId || channelDomains.get(r.channelId) !== r.domainId) throw new AppError("INTERNAL", Msg.createFailed);
        }
        await repo.insert(tx, rows);
        emitPerChannel(tx, systemContext, "channel.connect", rows);
        notify(tx, rows);
      });
    },

    async removeConnections(rows) {
      if (rows.length === 0) return;
      if (rows.length > MAX_CONNECTIONS) throw invalid(Msg.connectionsTooMany);
      await db.transact(async (tx) => removedBySystem(tx, await repo.removeMany(tx, rows)));
    },

    async removeChannelConnections(channelId) {
      await db.transact(async (tx) => removedBySystem(tx, await repo.removeByChannel(tx, channelId)));
    },

    async removeClientConnections(clientId) {
      await db.transact(async (tx) => removedBySystem(tx, await repo.removeByClient(tx, clientId)));
    },

    clientsOf: (tx, channelId) => repo.clientsOfChannel(tx, channelId),

    async typeNames(side, domainId, otherId, ids) {
      const types = await repo.typesOf(side, domainId, otherId, ids);
      return new Map([...types].map(([id, ts]) => [id, ts.map(connectionTypeName)]));
    },
  };
}
