import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/database.ts";
import { type ConnectionFilters, createEntityStore, type EntityStore, type RoleFilters } from "../db/queries/entity-store.ts";
import { insertRows } from "../db/queries/insert.ts";
import { preparedAll, prepareQuery } from "../db/queries/prepared.ts";
import { uniqueViolation } from "../db/queries/unique-violation.ts";
import { executorOf } from "../db/transaction.ts";
import { ENABLED } from "../domain/status.ts";
import type { TxHandle } from "../domain/transaction.ts";
import { AppError, Msg } from "../errors/index.ts";
import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import { connectedCondition } from "../presence/repository.ts";
import type { Client, EntityStatus, JsonObject } from "./types.ts";

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

/** What Authenticate needs of an enabled client. */
interface AuthRecord {
  id: string;
  domainId: string;
  secretHash: string;
}

export interface ClientsRepository extends EntityStore<Client, ClientChanges> {
  /** Inserts all rows or none; a secret already used in the domain is 400, a taken id 422. */
  insert(tx: TxHandle, rows: Client[]): Promise<void>;
  /** Hot path: the enabled client with this id (synchronous on SQLite). */
  authRecord(id: string): MaybePromise<AuthRecord | undefined>;
  /** Hot path: the id of the enabled client of the domain with this secret hash. */
  idBySecret(domainId: string, secretHash: string): MaybePromise<string | undefined>;
  /** The enabled clients among `ids`, oldest first (gRPC RetrieveEntities). */
  enabledAmong(ids: string[]): Promise<Client[]>;
}

const secretConflict = (err: unknown) => uniqueViolation(err)?.includes("secret") === true;

/** How many clients are stored (their secrets are hashed with the installation key); counted at start-up. */
export async function storedClients(db: Database): Promise<number> {
  const [row] = await db.read.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(db.tables.clients);
  return row?.n ?? 0;
}

export function createClientsRepository(db: Database, links?: ConnectionFilters, roles?: RoleFilters): ClientsRepository {
  const { clients } = db.tables;
  const store = createEntityStore<Client, ClientChanges>(db, clients, links?.clientsConnectedTo, roles?.withMember, (f) =>
    f.connected === undefined ? undefined : connectedCondition(db, clients.id, f.connected),
  );
  const enabled = eq(clients.status, ENABLED);
  const authStmt = prepareQuery(
    db.read
      .select({ id: clients.id, domainId: clients.domainId, secretHash: clients.secretHash })
      .from(clients)
      .where(and(eq(clients.id, sql.placeholder("id")), enabled)),
  );
  const bySecretStmt = prepareQuery(
    db.read
      .select({ id: clients.id })
      .from(clients)
      .where(and(eq(clients.domainId, sql.placeholder("domainId")), eq(clients.secretHash, sql.placeholder("secretHash")), enabled)),
  );
  const first = <T>(rows: T[]) => rows[0];

  return {
    ...store,

    async insert(tx, rows) {
      // Chunked so a large bulk stays under the database's bound-parameter limit.
      await insertRows(executorOf(tx), clients, rows, (err) => {
        if (secretConflict(err)) return new AppError("CONFLICT", Msg.secretTaken);
        if (uniqueViolation(err) !== undefined) return new AppError("UNPROCESSABLE", Msg.createFailed);
        return err;
      });
    },

    authRecord(id) {
      return then(preparedAll<AuthRecord>(db, authStmt, { id }), first);
    },

    idBySecret(domainId, secretHash) {
      return then(preparedAll<{ id: string }>(db, bySecretStmt, { domainId, secretHash }), (rows) => rows[0]?.id);
    },

    async enabledAmong(ids) {
      if (ids.length === 0) return [];
      return (await db.read
        .select()
        .from(clients)
        .where(and(inArray(clients.id, ids), enabled))
        .orderBy(asc(clients.createdAt), asc(clients.id))) as Client[];
    },

    async update(tx, domainId, id, changes, where) {
      try {
        return await store.update(tx, domainId, id, changes, where);
      } catch (err) {
        if (secretConflict(err)) throw new AppError("CONFLICT", Msg.secretTaken);
        throw err;
      }
    },
  };
}
