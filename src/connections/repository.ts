import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/database.ts";
import type { ConnectionFilters } from "../db/queries/entity-store.ts";
import { insertRows } from "../db/queries/insert.ts";
import { preparedAny, prepareQuery } from "../db/queries/prepared.ts";
import { uniqueViolation } from "../db/queries/unique-violation.ts";
import { executorOf } from "../db/transaction.ts";
import { ENABLED } from "../domain/status.ts";
import type { TxHandle } from "../domain/transaction.ts";
import { AppError, Msg } from "../errors/index.ts";
import type { MaybePromise } from "../lib/maybe-promise.ts";

/** One connection: the client may publish (1) or subscribe (2) on the channel, in that domain. */
export interface Connection {
  channelId: string;
  domainId: string;
  clientId: string;
  type: number;
}

/** The cartesian product channels × clients × types, within one domain. */
export interface ConnectionSet {
  domainId: string;
  channelIds: string[];
  clientIds: string[];
  types: number[];
}

export interface ConnectionsRepository extends ConnectionFilters {
  /** Inserts all rows or none; a tuple that exists already is 400 `entity already exists`. */
  insert(tx: TxHandle, rows: Connection[]): Promise<void>;
  /** The tuples of `set` that are stored already. */
  existing(tx: TxHandle, set: ConnectionSet): Promise<Connection[]>;
  /** Deletes the tuples of `set` (absent ones are fine); returns the deleted rows. */
  removeSet(tx: TxHandle, set: ConnectionSet): Promise<Connection[]>;
  /** Deletes exactly these tuples; returns the deleted rows. */
  removeMany(tx: TxHandle, rows: Connection[]): Promise<Connection[]>;
  /** Deletes every connection of the channel / of the client; returns the deleted rows. */
  removeByChannel(tx: TxHandle, channelId: string): Promise<Connection[]>;
  removeByClient(tx: TxHandle, clientId: string): Promise<Connection[]>;
  /** The distinct clients connected to the channel (any type), read inside the transaction. */
  clientsOfChannel(tx: TxHandle, channelId: string): Promise<{ clientId: string; domainId: string }[]>;
  /**
   * Hot path (gRPC Authorize): the connection exists and both its client and its channel are
   * enabled (DESIGN decision 4). Synchronous on SQLite.
   */
  clientMay(domainId: string, clientId: string, channelId: string, type: number): MaybePromise<boolean>;
  /** For a page of a list: the types connecting each of `ids` to `otherId`. */
  typesOf(side: "client" | "channel", domainId: string, otherId: string, ids: string[]): Promise<Map<string, number[]>>;
}

export function createConnectionsRepository(db: Database): ConnectionsRepository {
  const { connections, clients, channels } = db.tables;
  const inSet = (s: ConnectionSet): SQL =>
    and(
      eq(connections.domainId, s.domainId),
      inArray(connections.channelId, s.channelIds),
      inArray(connections.clientId, s.clientIds),
      inArray(connections.type, s.types),
    )!;
  // One table in FROM, the statuses as correlated scalar subqueries, no bound value outside the
  // connections key: under Bun's SQLite a join whose WHERE binds parameters costs 5–10 µs a run
  // more than the same lookups one table each (measured: the three-table join 10.5 µs, this form
  // 1.5 µs, same rows; scripts/bench/authz-stages.ts), most of a cold Authorize.
  const enabled = sql.raw(String(ENABLED));
  const mayStmt = prepareQuery(
    db.read
      .select({ one: sql<number>`1` })
      .from(connections)
      .where(
        and(
          eq(connections.channelId, sql.placeholder("channelId")),
          eq(connections.domainId, sql.placeholder("domainId")),
          eq(connections.clientId, sql.placeholder("clientId")),
          eq(connections.type, sql.placeholder("type")),
          sql`(SELECT ${clients.status} FROM ${clients} WHERE ${clients.id} = ${connections.clientId}) = ${enabled}`,
          sql`(SELECT ${channels.status} FROM ${channels} WHERE ${channels.id} = ${connections.channelId}) = ${enabled}`,
        ),
      ),
  );
  const typeCond = (type?: number) => (type === undefined ? sql`` : sql` AND ${connections.type} = ${type}`);

  return {
    // IN (subquery) rather than a correlated EXISTS: the planner then starts from the connections
    // index (a few hundred rows) instead of testing every entity of the domain.
    clientsConnectedTo(domainId, channelId, type) {
      return sql`${clients.id} IN (SELECT ${connections.clientId} FROM ${connections} WHERE ${connections.channelId} = ${channelId} AND ${connections.domainId} = ${domainId}${typeCond(type)})`;
    },

    channelsConnectedTo(domainId, clientId, type) {
      return sql`${channels.id} IN (SELECT ${connections.channelId} FROM ${connections} WHERE ${connections.clientId} = ${clientId} AND ${connections.domainId} = ${domainId}${typeCond(type)})`;
    },

    clientMay(domainId, clientId, channelId, type) {
      return preparedAny(db, mayStmt, { domainId, clientId, channelId, type });
    },

    async insert(tx, rows) {
      await insertRows(executorOf(tx), connections, rows, (err) => (uniqueViolation(err) !== undefined ? new AppError("CONFLICT", Msg.entityExists) : err));
    },

    async existing(tx, set) {
      return executorOf(tx).select().from(connections).where(inSet(set));
    },

    async removeSet(tx, set) {
      return executorOf(tx).delete(connections).where(inSet(set)).returning();
    },

    async removeMany(tx, rows) {
      const exec = executorOf(tx);
      const removed: Connection[] = [];
      for (const r of rows) {
        const where = and(
          eq(connections.channelId, r.channelId),
          eq(connections.domainId, r.domainId),
          eq(connections.clientId, r.clientId),
          eq(connections.type, r.type),
        );
        removed.push(...(await exec.delete(connections).where(where).returning()));
      }
      return removed;
    },

    async removeByChannel(tx, channelId) {
      return executorOf(tx).delete(connections).where(eq(connections.channelId, channelId)).returning();
    },

    async removeByClient(tx, clientId) {
      return executorOf(tx).delete(connections).where(eq(connections.clientId, clientId)).returning();
    },

    async clientsOfChannel(tx, channelId) {
      return executorOf(tx)
        .selectDistinct({ clientId: connections.clientId, domainId: connections.domainId })
        .from(connections)
        .where(eq(connections.channelId, channelId));
    },

    async typesOf(side, domainId, otherId, ids) {
      const out = new Map<string, number[]>();
      if (ids.length === 0) return out;
      const [mine, other] = side === "client" ? [connections.clientId, connections.channelId] : [connections.channelId, connections.clientId];
      const rows = await db.read
        .select({ id: mine, type: connections.type })
        .from(connections)
        .where(and(eq(connections.domainId, domainId), eq(other, otherId), inArray(mine, ids)))
        .orderBy(connections.type);
      for (const r of rows) {
        const list = out.get(r.id);
        if (list) list.push(r.type);
        else out.set(r.id, [r.type]);
      }
      return out;
    },
  };
}
