import { sql } from "drizzle-orm";
import { bigint, bigserial, check, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";

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

export const channels = pgTable(
  "channels",
  {
    id: text("id").primaryKey(),
    domainId: text("domain_id").notNull(),
    name: text("name").notNull().default(""),
    tags: jsonb("tags").$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    route: text("route"),
    parentGroupId: text("parent_group_id"),
    status: integer("status").notNull().default(0),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    updatedAt: bigint("updated_at", { mode: "number" }),
    updatedBy: text("updated_by"),
  },
  (t) => [
    uniqueIndex("channels_domain_route_uq").on(t.domainId, t.route),
    index("channels_domain_status_updated_idx").on(t.domainId, t.status, sql`(CASE WHEN ${t.updatedAt} IS NULL THEN ${t.createdAt} ELSE ${t.updatedAt} END)`, t.id),
    index("channels_domain_created_idx").on(t.domainId, t.createdAt),
    index("channels_domain_name_idx").on(t.domainId, t.name),
    index("channels_parent_idx").on(t.domainId, t.parentGroupId),
  ],
);

export const connections = pgTable(
  "connections",
  {
    channelId: text("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    domainId: text("domain_id").notNull(),
    clientId: text("client_id")
      .notNull()
      .references(() => clients.id, { onDelete: "cascade" }),
    type: integer("type").notNull(),
  },
  (t) => [
    primaryKey({ name: "connections_pk", columns: [t.channelId, t.domainId, t.clientId, t.type] }),
    index("connections_client_idx").on(t.clientId, t.domainId, t.type),
    check("connections_type_check", sql`${t.type} IN (1, 2)`),
  ],
);

export const outbox = pgTable("outbox", {
  seq: bigserial("seq", { mode: "number" }).primaryKey(),
  stream: text("stream").notNull(),
  payload: text("payload").notNull(),
  entityId: text("entity_id").notNull().default(""),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

export const pgSchema = { clients, channels, connections, outbox };
