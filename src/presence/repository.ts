import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/database.ts";
import { executorOf } from "../db/transaction.ts";
import type { Micros } from "../domain/time.ts";
import type { TxHandle } from "../domain/transaction.ts";

/** Presence as stored (src/db/schema: client_presence); the one place that speaks SQL for it. */
export interface PresenceRow {
  clientId: string;
  domainId: string;
  connected: boolean;
  sessions: number;
  lastSeen: Micros | null;
  address: string | null;
}

export interface PresenceRepository {
  find(clientId: string): Promise<PresenceRow | undefined>;
  /** The domains of those of `ids` that are clients (a batch writes only theirs). */
  domainsOf(tx: TxHandle, ids: string[]): Promise<Map<string, string>>;
  /** Writes these rows (insert or replace) and deletes the rows of `gone` (no longer clients). */
  write(tx: TxHandle, rows: PresenceRow[], gone: string[]): Promise<void>;
  /** The clients stored as connected (reconciled against the broker's first connection list). */
  connectedIds(): Promise<string[]>;
}

/** Ids per statement: under every dialect's bound-parameter limit. */
const CHUNK = 500;

export function createPresenceRepository(db: Database): PresenceRepository {
  const { clientPresence: p, clients } = db.tables;
  const toRow = (r: typeof p.$inferSelect): PresenceRow => ({ ...r, connected: r.connected === 1 });
  return {
    async find(clientId) {
      const [r] = await db.read.select().from(p).where(eq(p.clientId, clientId));
      return r ? toRow(r) : undefined;
    },

    async domainsOf(tx, ids) {
      const out = new Map<string, string>();
      const exec = executorOf(tx);
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await exec
          .select({ id: clients.id, domainId: clients.domainId })
          .from(clients)
          .where(inArray(clients.id, ids.slice(i, i + CHUNK)));
        for (const r of rows) out.set(r.id, r.domainId);
      }
      return out;
    },

    async write(tx, rows, gone) {
      const exec = executorOf(tx);
      for (let i = 0; i < rows.length; i += CHUNK / 5) {
        const chunk = rows.slice(i, i + CHUNK / 5).map((r) => ({ ...r, connected: r.connected ? 1 : 0 }));
        await exec
          .insert(p)
          .values(chunk)
          .onConflictDoUpdate({
            target: p.clientId,
            set: {
              domainId: sql`excluded.domain_id`,
              connected: sql`excluded.connected`,
              sessions: sql`excluded.sessions`,
              lastSeen: sql`excluded.last_seen`,
              address: sql`excluded.address`,
            },
          });
      }
      for (let i = 0; i < gone.length; i += CHUNK) await exec.delete(p).where(inArray(p.clientId, gone.slice(i, i + CHUNK)));
    },

    async connectedIds() {
      const rows = await db.read
        .select({ id: p.clientId })
        .from(p)
        .where(and(eq(p.connected, 1)));
      return rows.map((r) => r.id);
    },
  };
}

/** The list filter `connected=true|false` on clients (src/db/queries/entity-store.ts). */
export function connectedCondition(db: Database, clientIdColumn: Database["tables"]["clients"]["id"], connected: boolean) {
  const { clientPresence: p } = db.tables;
  const exists = sql`EXISTS (SELECT 1 FROM ${p} WHERE ${p.clientId} = ${clientIdColumn} AND ${p.connected} = 1)`;
  return connected ? exists : sql`NOT ${exists}`;
}
