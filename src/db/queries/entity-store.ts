import { and, eq, getTableName, gte, inArray, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { ListFilter } from "../../domain/list.ts";
import type { TxHandle } from "../../domain/transaction.ts";
import { type MaybePromise, then } from "../../lib/maybe-promise.ts";
import type { Database, Dialect } from "../database.ts";
import type { Tables } from "../portable.ts";
import { executorOf } from "../transaction.ts";
import { containsText, jsonArrayHas, jsonContains, lockingRows } from "./dialect-sql.ts";
import { listEntities } from "./list-plan.ts";
import { preparedAll, prepareQuery } from "./prepared.ts";

/** Clients and channels share these columns and the list semantics of contract §2. */
type EntityTable = Tables["clients"] | Tables["channels"];

/** The WHERE conditions of a §2 list over clients or channels. */
function listConditions(dialect: Dialect, table: EntityTable, domainId: string, f: ListFilter): SQL[] {
  // With a subset filter (connected to X, member Y), the subset is small and indexed: on SQLite a
  // unary `+` keeps the planner from starting at the domain's index instead (without statistics it
  // would, and scan every entity of the domain: 9 ms instead of 0.1 ms at 100,000 clients).
  const subset = (f.connectedTo !== undefined || f.member !== undefined) && dialect === "sqlite";
  const is = (column: typeof table.domainId | typeof table.status, value: string | number) => (subset ? sql`+${column} = ${value}` : eq(column, value));
  const where: SQL[] = [is(table.domainId, domainId)];
  if (f.status === "enabled") where.push(is(table.status, 0));
  else if (f.status === "disabled") where.push(is(table.status, 1));
  else if (f.status === "deleted") where.push(is(table.status, 2));
  if (f.name) where.push(containsText(table.name, f.name));
  if (f.id) where.push(eq(table.id, f.id));
  if (f.tags && f.tags.values.length > 0) where.push(jsonArrayHas(dialect, table.tags, f.tags.op, f.tags.values));
  if (f.metadata) where.push(jsonContains(dialect, table.metadata, f.metadata));
  if (f.createdFrom !== undefined) where.push(gte(table.createdAt, f.createdFrom));
  if (f.createdTo !== undefined) where.push(lte(table.createdAt, f.createdTo));
  if (f.group === null) where.push(isNull(table.parentGroupId));
  else if (f.group !== undefined) where.push(eq(table.parentGroupId, f.group));
  return where;
}

/** SQL the connections repository contributes, so the connections table is spoken of there only. */
export interface ConnectionFilters {
  clientsConnectedTo(domainId: string, channelId: string, type?: number): SQL;
  channelsConnectedTo(domainId: string, clientId: string, type?: number): SQL;
}

/** SQL the roles repository contributes: entities on which a user holds a role. */
export interface RoleFilters {
  withMember(memberId: string): SQL;
}

/**
 * Reads and writes common to clients and channels, keyed by (domain, id). Each capability's
 * repository builds on it and adds its own inserts and lookups.
 */
export interface EntityStore<Row, Changes> {
  /** With `tx`, the row stays locked until that transaction ends (Postgres; see lockingRows). */
  /** Outside a transaction: synchronous on SQLite, a promise on Postgres. */
  find(domainId: string, id: string, tx?: TxHandle): MaybePromise<Row | undefined>;
  /** Rows with these ids in any domain (callers tell "missing" from "in another domain"), share-locked until `tx` ends. */
  findMany(ids: string[], tx: TxHandle): Promise<Row[]>;
  /** The row with this id in any domain, any status (gRPC RetrieveEntity). */
  findAny(id: string): Promise<Row | undefined>;
  /** Clears this parent group on every row that has it; returns the changed rows. */
  clearParent(tx: TxHandle, parentGroupId: string): Promise<Row[]>;
  list(domainId: string, filter: ListFilter): Promise<{ total: number; items: Row[] }>;
  /** Applies `changes` when the row exists (and has `where.status`); returns the updated row. */
  update(tx: TxHandle, domainId: string, id: string, changes: Changes, where?: { status?: number }): Promise<Row | undefined>;
  remove(tx: TxHandle, domainId: string, id: string): Promise<boolean>;
}

/**
 * `connectedTo` is the connections repository's condition for `filter.connectedTo` (clients
 * connected to a channel, or channels connected to a client); `withMember` the roles repository's
 * for `filter.member`.
 */
export function createEntityStore<Row, Changes>(
  db: Database,
  table: EntityTable,
  connectedTo?: (domainId: string, otherId: string, type?: number) => SQL,
  withMember?: (memberId: string) => SQL,
  /** The kind's own filters (clients: `connected`), as one more condition when they apply. */
  ownFilter?: (f: ListFilter) => SQL | undefined,
): EntityStore<Row, Changes> {
  const byKey = (domainId: string, id: string) => and(eq(table.domainId, domainId), eq(table.id, id));
  const findStmt = prepareQuery(
    db.read
      .select()
      .from(table)
      .where(and(eq(table.domainId, sql.placeholder("domainId")), eq(table.id, sql.placeholder("id")))),
  );
  return {
    find(domainId, id, tx) {
      // In a transaction the row is about to be checked and changed: locked (Postgres) until commit.
      if (tx)
        return lockingRows(db.dialect, executorOf(tx).select().from(table).where(byKey(domainId, id)), "update").then((rows) => rows[0] as Row | undefined);
      return then(preparedAll<Row>(db, findStmt, { domainId, id }), (rows) => rows[0]);
    },
    async findAny(id) {
      return (await db.read.select().from(table).where(eq(table.id, id)))[0] as Row | undefined;
    },
    async clearParent(tx, parentGroupId) {
      const rows = await executorOf(tx).update(table).set({ parentGroupId: null }).where(eq(table.parentGroupId, parentGroupId)).returning();
      return rows as Row[];
    },
    async findMany(ids, tx) {
      const exec = executorOf(tx);
      const rows: Row[] = [];
      for (let i = 0; i < ids.length; i += 500)
        rows.push(
          // Connect checks these rows before it writes rows that point at them: they must stay as seen
          // (Postgres: shared locks, taken in id order so that two such transactions cannot deadlock).
          ...((await lockingRows(
            db.dialect,
            exec
              .select()
              .from(table)
              .where(inArray(table.id, ids.slice(i, i + 500)))
              .orderBy(table.id),
            "share",
          )) as Row[]),
        );
      return rows;
    },
    list(domainId, f) {
      const conds = listConditions(db.dialect, table, domainId, f);
      if (f.connectedTo) {
        if (!connectedTo) throw new Error(`${getTableName(table)} store built without connection filters`);
        conds.push(connectedTo(domainId, f.connectedTo.id, f.connectedTo.type));
      }
      if (f.member) {
        if (!withMember) throw new Error(`${table._.name} store built without role filters`);
        conds.push(withMember(f.member));
      }
      const own = ownFilter?.(f);
      if (own) conds.push(own);
      return listEntities<Row>({ db, table, domainId, filter: f, conditions: conds });
    },
    async update(tx, domainId, id, changes, where) {
      const conds = [byKey(domainId, id)];
      if (where?.status !== undefined) conds.push(eq(table.status, where.status));
      const rows = await executorOf(tx)
        .update(table)
        .set(changes as Record<string, unknown>)
        .where(and(...conds))
        .returning();
      return rows[0] as Row | undefined;
    },
    async remove(tx, domainId, id) {
      const rows = await executorOf(tx).delete(table).where(byKey(domainId, id)).returning({ id: table.id });
      return rows.length > 0;
    },
  };
}
