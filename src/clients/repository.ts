import { type Database, executorOf } from "../db/database.ts";
import { type ConnectionFilters, type EntityStore, type RoleFilters, createEntityStore } from "../db/entities.ts";
import { uniqueViolation } from "../db/sql.ts";
import { AppError, Msg } from "../errors/index.ts";
import type { TxHandle } from "../shared/tx.ts";
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

export interface ClientsRepository extends EntityStore<Client, ClientChanges> {
  /** Inserts all rows or none; a secret already used in the domain is 400, a taken id 422. */
  insert(tx: TxHandle, rows: Client[]): Promise<void>;
}

const secretConflict = (err: unknown) => uniqueViolation(err)?.includes("secret") === true;

export function createClientsRepository(db: Database, links?: ConnectionFilters, roles?: RoleFilters): ClientsRepository {
  const { clients } = db.tables;
  const store = createEntityStore<Client, ClientChanges>(db, clients, links?.clientsConnectedTo, roles?.withMember);

  return {
    ...store,

    async insert(tx, rows) {
      try {
        const exec = executorOf(tx);
        // Chunked so a large bulk stays under the database's bound-parameter limit.
        for (let i = 0; i < rows.length; i += 500) await exec.insert(clients).values(rows.slice(i, i + 500));
      } catch (err) {
        if (secretConflict(err)) throw new AppError("CONFLICT", Msg.secretTaken);
        if (uniqueViolation(err) !== undefined) throw new AppError("UNPROCESSABLE", Msg.createFailed);
        throw err;
      }
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
