import { type SQL, and, asc, desc, eq, gte, isNull, lte, ne, sql } from "drizzle-orm";
import { type Database, type Executor, executorOf } from "../db/database.ts";
import { containsText, jsonArrayHas, jsonContains, uniqueViolation } from "../db/sql.ts";
import { AppError, Msg } from "../errors/index.ts";
import type { TxHandle } from "../shared/tx.ts";
import type { Client, EntityStatus, JsonObject, ListFilter } from "./types.ts";

/** Column changes an update may make; absent keys are left as they are. */
export interface ClientChanges {
  name?: string;
  tags?: string[];
  metadata?: JsonObject;
  privateMetadata?: JsonObject;
  secretHash?: string;
  status?: EntityStatus;
  parentGroupId?: string | null;
  updatedAt?: number;
  updatedBy?: string;
}

export interface ClientsRepository {
  /** Inserts all rows or none; a secret already used in the domain is 400, a taken id 422. */
  insert(tx: TxHandle, rows: Client[]): Promise<void>;
  /** Reads committed data, or the transaction's own view when `tx` is given. */
  find(domainId: string, id: string, tx?: TxHandle): Promise<Client | undefined>;
  list(domainId: string, filter: ListFilter): Promise<{ total: number; items: Client[] }>;
  /** Applies `changes` when the row matches `where`; returns the updated row. */
  update(tx: TxHandle, domainId: string, id: string, changes: ClientChanges, where?: { status?: EntityStatus }): Promise<Client | undefined>;
  remove(tx: TxHandle, domainId: string, id: string): Promise<boolean>;
  /** True when another client of the domain already uses this secret hash. */
  secretTaken(tx: TxHandle, domainId: string, secretHash: string, exceptId?: string): Promise<boolean>;
}

export function createClientsRepository(db: Database): ClientsRepository {
  const { clients } = db.tables;
  const sortAt = sql`(CASE WHEN ${clients.updatedAt} IS NULL THEN ${clients.createdAt} ELSE ${clients.updatedAt} END)`;
  const byKey = (domainId: string, id: string) => and(eq(clients.domainId, domainId), eq(clients.id, id));
  const on = (tx?: TxHandle): Executor => (tx ? executorOf(tx) : db.read);

  const findStmt = db.read
    .select()
    .from(clients)
    .where(and(eq(clients.domainId, sql.placeholder("domainId")), eq(clients.id, sql.placeholder("id"))))
    .limit(1)
    .prepare();

  function filterConditions(domainId: string, f: ListFilter): SQL[] {
    const where: SQL[] = [eq(clients.domainId, domainId)];
    if (f.status === "enabled") where.push(eq(clients.status, 0));
    else if (f.status === "disabled") where.push(eq(clients.status, 1));
    else if (f.status === "deleted") where.push(eq(clients.status, 2));
    if (f.name) where.push(containsText(clients.name, f.name));
    if (f.id) where.push(eq(clients.id, f.id));
    if (f.tags && f.tags.values.length > 0) where.push(jsonArrayHas(db.dialect, clients.tags, f.tags.op, f.tags.values));
    if (f.metadata) where.push(jsonContains(db.dialect, clients.metadata, f.metadata));
    if (f.createdFrom !== undefined) where.push(gte(clients.createdAt, f.createdFrom));
    if (f.createdTo !== undefined) where.push(lte(clients.createdAt, f.createdTo));
    if (f.group === null) where.push(isNull(clients.parentGroupId));
    else if (f.group !== undefined) where.push(eq(clients.parentGroupId, f.group));
    return where;
  }

  return {
    async insert(tx, rows) {
      try {
        const exec = executorOf(tx);
        // Chunked so a large bulk stays under the database's bound-parameter limit.
        for (let i = 0; i < rows.length; i += 500) await exec.insert(clients).values(rows.slice(i, i + 500));
      } catch (err) {
        const violated = uniqueViolation(err);
        if (violated?.includes("secret")) throw new AppError("CONFLICT", Msg.secretTaken);
        if (violated !== undefined) throw new AppError("UNPROCESSABLE", Msg.createFailed);
        throw err;
      }
    },

    async find(domainId, id, tx) {
      if (tx) return (await executorOf(tx).select().from(clients).where(byKey(domainId, id)).limit(1))[0] as Client | undefined;
      return (await findStmt.execute({ domainId, id }))[0] as Client | undefined;
    },

    async list(domainId, f) {
      const where = and(...filterConditions(domainId, f));
      const [{ total } = { total: 0 }] = await db.read
        .select({ total: sql<number>`count(*)`.mapWith(Number) })
        .from(clients)
        .where(where);
      if (f.onlyTotal || total === 0 || f.offset >= total) return { total, items: [] };
      const order = f.dir === "asc" ? asc : desc;
      const key = f.order === "name" ? clients.name : f.order === "created_at" ? clients.createdAt : sortAt;
      const items = await db.read
        .select()
        .from(clients)
        .where(where)
        .orderBy(order(key), order(clients.id))
        .limit(f.limit)
        .offset(f.offset);
      return { total, items: items as Client[] };
    },

    async update(tx, domainId, id, changes, where) {
      const conds = [byKey(domainId, id)];
      if (where?.status !== undefined) conds.push(eq(clients.status, where.status));
      try {
        const rows = await executorOf(tx)
          .update(clients)
          .set(changes)
          .where(and(...conds))
          .returning();
        return rows[0] as Client | undefined;
      } catch (err) {
        if (uniqueViolation(err)?.includes("secret")) throw new AppError("CONFLICT", Msg.secretTaken);
        throw err;
      }
    },

    async remove(tx, domainId, id) {
      const rows = await executorOf(tx).delete(clients).where(byKey(domainId, id)).returning({ id: clients.id });
      return rows.length > 0;
    },

    async secretTaken(tx, domainId, secretHash, exceptId) {
      const conds = [eq(clients.domainId, domainId), eq(clients.secretHash, secretHash)];
      if (exceptId) conds.push(ne(clients.id, exceptId));
      const rows = await on(tx).select({ id: clients.id }).from(clients).where(and(...conds)).limit(1);
      return rows.length > 0;
    },
  };
}
