import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/database.ts";
import { type ConnectionFilters, createEntityStore, type EntityStore, type RoleFilters } from "../db/queries/entity-store.ts";
import { insertRows } from "../db/queries/insert.ts";
import { prepareQuery } from "../db/queries/prepared.ts";
import { uniqueViolation } from "../db/queries/unique-violation.ts";
import { executorOf } from "../db/transaction.ts";
import type { TxHandle } from "../domain/transaction.ts";
import { AppError, Msg } from "../errors/index.ts";
import type { Channel, ChannelChanges } from "./types.ts";

export interface ChannelsRepository extends EntityStore<Channel, ChannelChanges> {
  /** Inserts all rows or none: a taken id is 400 `channel id already exists`, a taken route 400 `route not available`. */
  insert(tx: TxHandle, rows: Channel[]): Promise<void>;
  /** The channel with this route in the domain (any status). */
  findByRoute(domainId: string, route: string): Promise<Channel | undefined>;
}

export function createChannelsRepository(db: Database, links?: ConnectionFilters, roles?: RoleFilters): ChannelsRepository {
  const { channels } = db.tables;
  const store = createEntityStore<Channel, ChannelChanges>(db, channels, links?.channelsConnectedTo, roles?.withMember);
  const byRoute = prepareQuery(
    db.read
      .select()
      .from(channels)
      .where(and(eq(channels.domainId, sql.placeholder("domainId")), eq(channels.route, sql.placeholder("route")))),
  );

  return {
    ...store,

    async insert(tx, rows) {
      await insertRows(executorOf(tx), channels, rows, (err) => {
        const violated = uniqueViolation(err);
        if (violated?.includes("route")) return new AppError("CONFLICT", Msg.routeTaken);
        if (violated !== undefined) return new AppError("CONFLICT", Msg.channelIdTaken);
        return err;
      });
    },

    async findByRoute(domainId, route) {
      return (await byRoute.execute({ domainId, route }))[0] as Channel | undefined;
    },
  };
}
