import { sql } from "drizzle-orm";
import { bigint, bigserial, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";

/** Postgres twin of schema.sqlite.ts: same tables, same column names (test/schema.test.ts). */

export const clients = pgTable(
  "clients",
  {
    id: text("id").primaryKey(),
    domainId: text("domain_id").notNull(),
    name: text("name").notNull().default(""),
    tags: jsonb("tags").$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    identity: text("identity").notNull().default(""),
    secretHash: text("secret_hash").notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    privateMetadata: jsonb("private_metadata").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    parentGroupId: text("parent_group_id"),
    status: integer("status").notNull().default(0),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    updatedAt: bigint("updated_at", { mode: "number" }),
    updatedBy: text("updated_by"),
  },
  (t) => [
    uniqueIndex("clients_domain_secret_uq").on(t.domainId, t.secretHash),
    index("clients_domain_status_updated_idx").on(t.domainId, t.status, sql`(CASE WHEN ${t.updatedAt} IS NULL THEN ${t.createdAt} ELSE ${t.updatedAt} END)`, t.id),
    index("clients_domain_created_idx").on(t.domainId, t.createdAt),
    index("clients_domain_name_idx").on(t.domainId, t.name),
    index("clients_parent_idx").on(t.domainId, t.parentGroupId),
  ],
);

export const outbox = pgTable("outbox", {
  seq: bigserial("seq", { mode: "number" }).primaryKey(),
  stream: text("stream").notNull(),
  payload: text("payload").notNull(),
  entityId: text("entity_id").notNull().default(""),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

export const pgSchema = { clients, outbox };
