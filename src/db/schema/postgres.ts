import { sql } from "drizzle-orm";
import { bigint, bigserial, check, index, integer, jsonb, type PgColumn, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";

/** Postgres twin of schema/sqlite.ts: same tables, same column names (test/schema.test.ts). */

/** The columns clients and channels share, split where each kind puts its own in between. */
const entityHead = () => ({
  id: text("id").primaryKey(),
  domainId: text("domain_id").notNull(),
  name: text("name").notNull().default(""),
  tags: jsonb("tags").$type<string[]>().notNull().default(sql`'[]'::jsonb`),
});
const entityTail = () => ({
  parentGroupId: text("parent_group_id"),
  status: integer("status").notNull().default(0),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  updatedAt: bigint("updated_at", { mode: "number" }),
  updatedBy: text("updated_by"),
});
const metadataColumn = (name: string) => jsonb(name).$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`);

type EntityColumns = ReturnType<typeof entityHead> & ReturnType<typeof entityTail>;
function entityIndexes(kind: string, t: { [K in keyof EntityColumns]: PgColumn }) {
  return [
    index(`${kind}_domain_status_updated_idx`).on(
      t.domainId,
      t.status,
      sql`(CASE WHEN ${t.updatedAt} IS NULL THEN ${t.createdAt} ELSE ${t.updatedAt} END)`,
      t.id,
    ),
    index(`${kind}_domain_created_idx`).on(t.domainId, t.createdAt),
    // Covers a created_at range with the status and the list order: counted and paged from the index alone.
    index(`${kind}_domain_status_created_idx`).on(
      t.domainId,
      t.status,
      t.createdAt,
      sql`(CASE WHEN ${t.updatedAt} IS NULL THEN ${t.createdAt} ELSE ${t.updatedAt} END)`,
      t.id,
    ),
    index(`${kind}_domain_name_idx`).on(t.domainId, t.name),
    index(`${kind}_parent_idx`).on(t.domainId, t.parentGroupId),
  ];
}

export const clients = pgTable(
  "clients",
  {
    ...entityHead(),
    identity: text("identity").notNull().default(""),
    secretHash: text("secret_hash").notNull(),
    metadata: metadataColumn("metadata"),
    privateMetadata: metadataColumn("private_metadata"),
    ...entityTail(),
  },
  (t) => [uniqueIndex("clients_domain_secret_uq").on(t.domainId, t.secretHash), ...entityIndexes("clients", t)],
);

export const channels = pgTable(
  "channels",
  {
    ...entityHead(),
    metadata: metadataColumn("metadata"),
    route: text("route"),
    ...entityTail(),
  },
  (t) => [uniqueIndex("channels_domain_route_uq").on(t.domainId, t.route), ...entityIndexes("channels", t)],
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

/** Roles: see schema/sqlite.ts. */
function roleTables<E extends typeof clients | typeof channels>(kind: "client" | "channel", entity: E) {
  const roles = pgTable(
    `${kind}_roles`,
    {
      id: text("id").primaryKey(),
      entityId: text("entity_id")
        .notNull()
        .references(() => entity.id, { onDelete: "cascade" }),
      name: text("name").notNull(),
      createdBy: text("created_by").notNull(),
      createdAt: bigint("created_at", { mode: "number" }).notNull(),
      updatedBy: text("updated_by"),
      updatedAt: bigint("updated_at", { mode: "number" }),
    },
    (t) => [uniqueIndex(`${kind}_roles_entity_name_uq`).on(t.entityId, t.name)],
  );
  const actions = pgTable(
    `${kind}_role_actions`,
    {
      // On Postgres no constraint since migration 0009: triggers check it once per statement and
      // cascade the deletes (a create's nine actions were nine checks). Declared here for the dump's
      // table order; a migration touching this reference must account for it.
      roleId: text("role_id")
        .notNull()
        .references(() => roles.id, { onDelete: "cascade" }),
      action: text("action").notNull(),
    },
    (t) => [primaryKey({ name: `${kind}_role_actions_pk`, columns: [t.roleId, t.action] })],
  );
  const members = pgTable(
    `${kind}_role_members`,
    {
      roleId: text("role_id")
        .notNull()
        .references(() => roles.id, { onDelete: "cascade" }),
      entityId: text("entity_id").notNull(),
      memberId: text("member_id").notNull(),
    },
    (t) => [
      primaryKey({ name: `${kind}_role_members_pk`, columns: [t.roleId, t.memberId] }),
      uniqueIndex(`${kind}_role_members_entity_member_uq`).on(t.entityId, t.memberId),
      index(`${kind}_role_members_member_idx`).on(t.memberId, t.entityId),
    ],
  );
  return { roles, actions, members };
}

const clientRoleTables = roleTables("client", clients);
export const clientRoles = clientRoleTables.roles;
export const clientRoleActions = clientRoleTables.actions;
export const clientRoleMembers = clientRoleTables.members;

const channelRoleTables = roleTables("channel", channels);
export const channelRoles = channelRoleTables.roles;
export const channelRoleActions = channelRoleTables.actions;
export const channelRoleMembers = channelRoleTables.members;

export const outbox = pgTable("outbox", {
  seq: bigserial("seq", { mode: "number" }).primaryKey(),
  stream: text("stream").notNull(),
  payload: text("payload").notNull(),
  entityId: text("entity_id").notNull().default(""),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

/** Twin of schema/sqlite.ts `kicks`. */
export const kicks = pgTable("kicks", {
  seq: bigserial("seq", { mode: "number" }).primaryKey(),
  stream: text("stream").notNull(),
  payload: text("payload").notNull(),
  entityId: text("entity_id").notNull().default(""),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

/** Twin of schema/sqlite.ts `client_presence`. */
export const clientPresence = pgTable(
  "client_presence",
  {
    clientId: text("client_id").primaryKey(),
    domainId: text("domain_id").notNull(),
    connected: integer("connected").notNull().default(0),
    sessions: integer("sessions").notNull().default(0),
    lastSeen: bigint("last_seen", { mode: "number" }),
    address: text("address"),
  },
  (t) => [index("client_presence_domain_connected_idx").on(t.domainId, t.connected)],
);

export const pgSchema = {
  clients,
  channels,
  connections,
  clientRoles,
  clientRoleActions,
  clientRoleMembers,
  channelRoles,
  channelRoleActions,
  channelRoleMembers,
  outbox,
  kicks,
  clientPresence,
};
