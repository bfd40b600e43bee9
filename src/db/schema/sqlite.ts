import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, type SQLiteColumn, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * SQLite schema. Its twin for Postgres is schema/postgres.ts: same tables, same column names, same
 * meaning (test/schema.test.ts keeps them from drifting). Times are integer Unix microseconds;
 * JSON documents are stored as text.
 */

/** The columns clients and channels share, split where each kind puts its own in between. */
const entityHead = () => ({
  id: text("id").primaryKey(),
  domainId: text("domain_id").notNull(),
  name: text("name").notNull().default(""),
  tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
});
const entityTail = () => ({
  parentGroupId: text("parent_group_id"),
  /** 0 enabled, 1 disabled. */
  status: integer("status").notNull().default(0),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at"),
  updatedBy: text("updated_by"),
});
const metadataColumn = (name: string) => text(name, { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`);

type EntityColumns = ReturnType<typeof entityHead> & ReturnType<typeof entityTail>;
/** The list indexes both kinds have (contract §2: domain, status, last touched, created, name, parent). */
function entityIndexes(kind: string, t: { [K in keyof EntityColumns]: SQLiteColumn }) {
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

export const clients = sqliteTable(
  "clients",
  {
    ...entityHead(),
    identity: text("identity").notNull().default(""),
    /** HMAC-SHA256 of the secret keyed with the installation key (never the secret itself). */
    secretHash: text("secret_hash").notNull(),
    metadata: metadataColumn("metadata"),
    privateMetadata: metadataColumn("private_metadata"),
    ...entityTail(),
  },
  (t) => [uniqueIndex("clients_domain_secret_uq").on(t.domainId, t.secretHash), ...entityIndexes("clients", t)],
);

export const channels = sqliteTable(
  "channels",
  {
    /** Server-generated UUID, or any non-blank caller-chosen string of at most 36 characters. */
    ...entityHead(),
    metadata: metadataColumn("metadata"),
    /** Unique per domain, immutable; null when the channel has none. */
    route: text("route"),
    ...entityTail(),
  },
  (t) => [uniqueIndex("channels_domain_route_uq").on(t.domainId, t.route), ...entityIndexes("channels", t)],
);

/**
 * A client may publish (type 1) or subscribe (type 2) on a channel. One row per tuple; the primary
 * key makes a duplicate impossible and serves Authorize's lookup; deleting either end cascades.
 */
export const connections = sqliteTable(
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

/**
 * Roles (contract §5), one set of tables per entity kind so that every row has a real foreign key:
 * deleting a client or channel cascades to its roles, and a role's delete cascades to its actions
 * and members. `entity_id` is repeated in the members table so that "one role per member per
 * entity" is a unique index, and so that "may this user publish here?" is one index probe.
 */
function roleTables<E extends typeof clients | typeof channels>(kind: "client" | "channel", entity: E) {
  const roles = sqliteTable(
    `${kind}_roles`,
    {
      /** `client_<short id>` / `channel_<short id>`. */
      id: text("id").primaryKey(),
      entityId: text("entity_id")
        .notNull()
        .references(() => entity.id, { onDelete: "cascade" }),
      name: text("name").notNull(),
      createdBy: text("created_by").notNull(),
      createdAt: integer("created_at").notNull(),
      updatedBy: text("updated_by"),
      updatedAt: integer("updated_at"),
    },
    (t) => [uniqueIndex(`${kind}_roles_entity_name_uq`).on(t.entityId, t.name)],
  );
  const actions = sqliteTable(
    `${kind}_role_actions`,
    {
      roleId: text("role_id")
        .notNull()
        .references(() => roles.id, { onDelete: "cascade" }),
      action: text("action").notNull(),
    },
    (t) => [primaryKey({ name: `${kind}_role_actions_pk`, columns: [t.roleId, t.action] })],
  );
  const members = sqliteTable(
    `${kind}_role_members`,
    {
      roleId: text("role_id")
        .notNull()
        .references(() => roles.id, { onDelete: "cascade" }),
      /** The role's entity (same value as the role row's). */
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

/** Events written in the same transaction as the change they describe; drained by the publisher. */
export const outbox = sqliteTable("outbox", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  stream: text("stream").notNull(),
  /** The event's JSON payload, occurred_at included. */
  payload: text("payload").notNull(),
  /** The entity the event is about, so that several publishers can keep per-entity order. */
  entityId: text("entity_id").notNull().default(""),
  createdAt: integer("created_at").notNull(),
});

/**
 * Kicks (live sessions to close at the broker), written in the same transaction as the revoking
 * change; the outbox's shape, drained by the broker link and deleted once the broker's management
 * API confirmed (src/broker/kicker.ts).
 */
export const kicks = sqliteTable("kicks", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  /** The revoking change, e.g. `client.disable`. */
  stream: text("stream").notNull(),
  /** `{"id","domain","reason"}` */
  payload: text("payload").notNull(),
  /** The client whose sessions are closed (its MQTT username). */
  entityId: text("entity_id").notNull().default(""),
  createdAt: integer("created_at").notNull(),
});

/**
 * Presence as last written by the broker link (src/presence/tracker.ts keeps the live state in
 * memory and writes it here in batches). No foreign key: a batch must not fail on a client deleted
 * meanwhile; the row of a deleted client is deleted by the next batch.
 */
export const clientPresence = sqliteTable(
  "client_presence",
  {
    clientId: text("client_id").primaryKey(),
    domainId: text("domain_id").notNull(),
    /** 1 while the client has a live session. */
    connected: integer("connected").notNull().default(0),
    sessions: integer("sessions").notNull().default(0),
    /** Last successful authentication or session seen, Unix microseconds. */
    lastSeen: integer("last_seen"),
    address: text("address"),
  },
  (t) => [index("client_presence_domain_connected_idx").on(t.domainId, t.connected)],
);

export const sqliteSchema = {
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
