import { openapi } from "@elysiajs/openapi";
import { type DocumentDecoration, type TSchema, t } from "elysia";
import { Msg } from "../errors/index.ts";

/**
 * The OpenAPI document's response side. Responses are documentation only: they go into each
 * route's `detail.responses`, never into Elysia's `response` hook, so no route validates or
 * re-serialises what it answers (the hot path stays as fast as the benchmarks measure it).
 * The schemas below are the wire shapes the route files build by hand (clientJson, channelJson,
 * roleJson, …); test/openapi.test.ts checks real answers against them.
 */

const Time = t.String({ format: "date-time", description: "RFC 3339, UTC, up to microseconds; 0001-01-01T00:00:00Z when never set." });
const Status = t.Union([t.Literal("enabled"), t.Literal("disabled")]);
const Strings = t.Array(t.String());
const Meta = t.Record(t.String(), t.Unknown());

/** The fields a caller's role adds to a list item (`user=` filter) and to `?roles=true`. */
const MemberRole = t.Object({
  role_id: t.String(),
  role_name: t.String(),
  actions: Strings,
  access_type: t.String({ description: 'Always "direct" here.' }),
});
const memberRoleFields = {
  role_id: t.Optional(t.String()),
  role_name: t.Optional(t.String()),
  actions: t.Optional(Strings),
  access_type: t.Optional(t.String()),
};
const listFields = {
  connection_types: t.Optional(t.Array(t.Union([t.Literal("Publish"), t.Literal("Subscribe")]), { description: "With the channel=/client= filter." })),
  ...memberRoleFields,
};

const clientFields = {
  id: t.String({ format: "uuid" }),
  name: t.Optional(t.String()),
  tags: t.Optional(Strings),
  domain_id: t.String(),
  parent_group_id: t.Optional(t.String()),
  credentials: t.Object({
    identity: t.Optional(t.String()),
    secret: t.Optional(t.String({ description: "Only in the answers of create and bulk create." })),
  }),
  metadata: t.Optional(Meta),
  private_metadata: t.Optional(Meta),
  created_at: Time,
  updated_at: Time,
  updated_by: t.Optional(t.String()),
  status: Status,
};
const channelFields = {
  id: t.String(),
  name: t.Optional(t.String()),
  tags: t.Optional(Strings),
  parent_group_id: t.Optional(t.String()),
  domain_id: t.String(),
  route: t.Optional(t.String()),
  metadata: t.Optional(Meta),
  created_at: Time,
  updated_at: Time,
  updated_by: t.Optional(t.String()),
  status: Status,
};
const roleFields = {
  id: t.String(),
  name: t.String(),
  entity_id: t.String(),
  created_by: t.String(),
  created_at: Time,
  updated_by: t.String(),
  updated_at: Time,
};
const envelope = (key: string, item: TSchema) => t.Object({ total: t.Integer(), offset: t.Integer(), limit: t.Integer(), [key]: t.Array(item) });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Component schemas, by name (the document's `components.schemas`). */
const SCHEMAS = {
  Error: t.Object({ message: t.String({ description: "The contract's text for the error." }) }),
  Client: t.Object(clientFields),
  ClientWithRoles: t.Object({ ...clientFields, roles: t.Optional(t.Array(MemberRole)) }),
  ClientListItem: t.Object({ ...clientFields, parent_group_path: t.Optional(t.String()), ...listFields }),
  ClientsPage: t.Object({
    limit: t.Optional(t.Integer()),
    offset: t.Optional(t.Integer({ description: "Omitted when 0." })),
    total: t.Integer(),
    clients: t.Optional(t.Array(t.Unsafe(ref("ClientListItem")), { description: "Omitted when the page is empty." })),
  }),
  ClientsCreated: t.Object({ total: t.Integer(), clients: t.Array(t.Unsafe(ref("Client"))) }),
  Channel: t.Object(channelFields),
  ChannelWithRoles: t.Object({ ...channelFields, roles: t.Optional(t.Array(MemberRole)) }),
  ChannelListItem: t.Object({ ...channelFields, ...listFields }),
  ChannelsPage: t.Object({
    limit: t.Optional(t.Integer()),
    offset: t.Optional(t.Integer({ description: "Omitted when 0." })),
    total: t.Integer(),
    channels: t.Optional(t.Array(t.Unsafe(ref("ChannelListItem")), { description: "Omitted when the page is empty." })),
  }),
  ChannelsCreated: t.Object({ total: t.Integer(), channels: t.Array(t.Unsafe(ref("Channel"))) }),
  Role: t.Object(roleFields),
  RoleProvision: t.Object({ ...roleFields, optional_actions: t.Union([Strings, t.Null()]), optional_members: t.Union([Strings, t.Null()]) }),
  RolesPage: envelope("roles", t.Unsafe(ref("Role"))),
  MemberRole,
  EntityMembersPage: envelope("members", t.Object({ member_id: t.String(), roles: t.Array(t.Unsafe(ref("MemberRole"))) })),
  RoleMembersPage: envelope("members", t.String()),
  AvailableActions: t.Object({ available_actions: Strings }),
  Actions: t.Object({ actions: Strings }),
  Members: t.Object({ members: Strings }),
  Presence: t.Object({
    connected: t.Boolean({ description: "The client has a live broker session." }),
    sessions: t.Integer({ description: "Its live sessions (RabbitMQ: also those authenticated but not yet listed by the broker)." }),
    last_seen: t.Optional(
      t.String({ format: "date-time", description: "Connected: now; else the last authentication or session seen. Omitted when never seen." }),
    ),
    address: t.Optional(t.String({ description: "The device's address (ip or ip:port) as the broker last reported it. Omitted when never seen." })),
  }),
  Health: t.Object({
    status: t.Literal("pass"),
    version: t.String(),
    commit: t.String(),
    description: t.String(),
    build_time: t.String(),
    instance_id: t.String(),
    event_broker: t.Union([t.Literal("connected"), t.Literal("disconnected"), t.Literal("disabled")]),
  }),
} satisfies Record<string, TSchema>;
type SchemaName = keyof typeof SCHEMAS;

const CLIENT_ID = "5d1b8f4e-3c2a-4b7e-9f10-2a6c8e4d7b31";
const CHANNEL_ID = "9b7e4c1a-6d2f-4e8b-a3c5-1f0d2e7a9c46";
const ROLE_ID = "client_5d1b8f4e-3c2a-4b7e-9f10-2a6c8e4d7b31_admin";
const DOMAIN = "gateway-7";
const CREATED = "2026-11-30T09:41:12.512304Z";
const UPDATED = "2026-11-30T10:02:47.118Z";
const ADMIN = "2d4a7c9e-0b1f-4e3d-8a6b-5c7e9f1d3b20";
const ZERO = "0001-01-01T00:00:00Z";

const client = {
  id: CLIENT_ID,
  name: "thermometer-a1",
  tags: ["lab", "floor-2"],
  domain_id: DOMAIN,
  credentials: { identity: "thermo-a1" },
  metadata: { room: "a1", model: "TH-200" },
  created_at: CREATED,
  updated_at: UPDATED,
  updated_by: ADMIN,
  status: "enabled",
};
const channel = {
  id: CHANNEL_ID,
  name: "lab-telemetry",
  tags: ["lab"],
  domain_id: DOMAIN,
  route: "lab-telemetry",
  metadata: { retention: "7d" },
  created_at: CREATED,
  updated_at: ZERO,
  status: "enabled",
};
const role = { id: ROLE_ID, name: "admin", entity_id: CLIENT_ID, created_by: ADMIN, created_at: CREATED, updated_by: "", updated_at: ZERO };
const memberRole = { role_id: ROLE_ID, role_name: "admin", actions: ["update", "read", "delete"], access_type: "direct" };

/** One realistic example per schema (test/openapi.test.ts checks each against its schema). */
const EXAMPLES: Partial<Record<SchemaName, unknown>> = {
  Client: { ...client, updated_at: ZERO, updated_by: undefined, credentials: { identity: "thermo-a1", secret: "s3cr3t-thermo" } },
  ClientWithRoles: { ...client, roles: [memberRole] },
  ClientsPage: { limit: 10, total: 1, clients: [client] },
  Presence: { connected: true, sessions: 1, last_seen: "2026-11-27T23:49:58.386Z", address: "192.0.2.10:51234" },
  ClientsCreated: {
    total: 2,
    clients: [
      {
        ...client,
        name: "sensor-1",
        tags: undefined,
        metadata: undefined,
        updated_at: ZERO,
        updated_by: undefined,
        credentials: { secret: "0f3e6b1c-7a42-4d9e-b8c5-2e1f9a7d6c30" },
      },
      {
        ...client,
        id: "c2a9e7d1-4b3f-4a8e-9d6c-7f1e0b2a5c94",
        name: "sensor-2",
        tags: undefined,
        metadata: undefined,
        updated_at: ZERO,
        updated_by: undefined,
        credentials: { secret: "8d2c4f6a-1e3b-4c7d-a9f0-3b5e7c9d1a26" },
      },
    ],
  },
  Channel: channel,
  ChannelWithRoles: { ...channel, roles: [{ ...memberRole, role_id: `channel_${CHANNEL_ID}_admin`, actions: ["publish", "subscribe"] }] },
  ChannelsPage: { limit: 10, total: 1, channels: [channel] },
  ChannelsCreated: { total: 1, channels: [channel] },
  Role: role,
  RoleProvision: { ...role, id: `${CLIENT_ID}_operators`, name: "operators", optional_actions: ["read", "update"], optional_members: [ADMIN] },
  RolesPage: { total: 1, offset: 0, limit: 10, roles: [role] },
  EntityMembersPage: { total: 1, offset: 0, limit: 10, members: [{ member_id: ADMIN, roles: [memberRole] }] },
  RoleMembersPage: { total: 1, offset: 0, limit: 10, members: [ADMIN] },
  AvailableActions: {
    available_actions: [
      "update",
      "read",
      "delete",
      "set_parent_group",
      "connect_to_channel",
      "manage_role",
      "add_role_users",
      "remove_role_users",
      "view_role_users",
    ],
  },
  Actions: { actions: ["read", "update"] },
  Members: { members: [ADMIN] },
  Health: {
    status: "pass",
    version: "0.1.0",
    commit: "bb974f6a",
    description: "clients service",
    build_time: "2026-11-30T08:00:00Z",
    instance_id: "7e3f1a2b-9c4d-4e5f-8a6b-0c1d2e3f4a5b",
    event_broker: "connected",
  },
};

/** A typical message per error status (each route may name its own). */
const ERROR_EXAMPLES: Record<number, string> = {
  400: Msg.malformedBody,
  401: Msg.missingToken,
  403: Msg.adminOnly,
  404: Msg.notFound,
  415: Msg.unsupportedContentType,
  422: Msg.createFailed,
  413: Msg.bodyTooLarge,
  500: Msg.internal,
  503: Msg.storageFull,
};
const ERROR_MEANING: Record<number, string> = {
  400: "Malformed body or invalid parameters (also conflicts: the contract has no 409).",
  401: "Missing or wrong bearer token.",
  403: "Not allowed.",
  404: "No such entity in this domain.",
  415: "The body is not `application/json`.",
  422: "The change cannot be made in the entity's state (disabled, already there, …).",
  500: "Internal error; the body still is `{message}`.",
  413: "The body is larger than `MG_CLIENTS_HTTP_MAX_BODY` (refused before it is read whole).",
  503: "The database's disk is full; nothing was written.",
};

interface Success {
  status: number;
  description: string;
  /** A component schema for the JSON body; none for an empty body. */
  schema?: SchemaName;
  /** Another content type than JSON (e.g. text/plain; version=0.0.4). */
  contentType?: string;
  headers?: Record<string, { description: string; schema: { type: string } }>;
}

interface OperationDoc {
  /** Stable operationId (clients of the document generate code from it). */
  id: string;
  summary: string;
  description?: string;
  ok: Success;
  /** Error statuses this route answers; 401 and 500 are added for every authenticated route. */
  fails?: number[];
  /** Per-status example messages where the typical one would mislead. */
  messages?: Record<number, string>;
  /** Extra OpenAPI parameters (ones no Elysia schema describes). */
  parameters?: NonNullable<DocumentDecoration["parameters"]>;
  /** Routes outside /{domainID}/ (health, metrics): no token, no 401. */
  public?: boolean;
}

/** The OpenAPI operation fields of a route: its `detail`. */
export function operation(tag: string, op: OperationDoc): DocumentDecoration {
  const responses: Record<string, unknown> = {};
  const { ok } = op;
  const body = ok.contentType
    ? { content: { [ok.contentType]: { schema: { type: "string" } } } }
    : ok.schema
      ? { content: { "application/json": { schema: ref(ok.schema), ...(EXAMPLES[ok.schema] ? { example: EXAMPLES[ok.schema] } : {}) } } }
      : {};
  responses[String(ok.status)] = { description: ok.description, ...(ok.headers ? { headers: ok.headers } : {}), ...body };
  const fails = new Set(op.fails ?? []);
  if (!op.public) {
    fails.add(401);
    fails.add(500);
  }
  for (const status of [...fails].sort()) {
    const response = errorResponse(status);
    const message = op.messages?.[status];
    if (message) response.content["application/json"].example = { message };
    responses[String(status)] = response;
  }
  return {
    operationId: op.id,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [tag],
    ...(op.public ? { security: [] } : {}),
    ...(op.parameters ? { parameters: op.parameters } : {}),
    responses,
  } as DocumentDecoration;
}

const errorResponse = (status: number) => ({
  description: ERROR_MEANING[status] ?? "Error.",
  content: { "application/json": { schema: ref("Error"), example: { message: ERROR_EXAMPLES[status] ?? Msg.badRequest } } },
});

/**
 * The errors the request pipeline adds to every write, whatever its route: 413 (body over the limit,
 * src/http/server.ts) and 503 (storage full, src/db/storage-full.ts). Called once all routes exist.
 */
export function documentWriteErrors(routes: readonly { method: string; hooks?: { detail?: DocumentDecoration } }[]): void {
  for (const route of routes) {
    const responses = route.hooks?.detail?.responses as Record<string, unknown> | undefined;
    if (route.method === "GET" || route.method === "HEAD" || !responses) continue;
    for (const status of [413, 503]) responses[String(status)] ??= errorResponse(status);
  }
}

/** `{ detail }` route options of a tag's routes. */
export const docs = (tag: string) => (op: OperationDoc) => ({ detail: operation(tag, op) });

/** Shorthands for the common successes. */
export const ok = (schema: SchemaName, description = "OK.") => ({ status: 200, description, schema });
export const empty = (status: 200 | 201 | 204, description: string): Success => ({ status, description });

/** The document at /openapi/json (the UI at /openapi is src/console/openapi-ui.ts). */
export function openapiDocument(version: string) {
  return openapi({
    path: "/openapi",
    provider: null,
    documentation: {
      info: {
        title: "magistrala-clients",
        version,
        description:
          "Device registry and access control for IoT gateways: the HTTP contract of Magistrala's Clients and Channels services. " +
          'Every route under /{domainID}/ needs `Authorization: Bearer <token>` (the standalone token). Errors are `{"message": …}`.',
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
        // TypeBox schemas are JSON Schema objects; their symbol keys do not serialise.
        schemas: SCHEMAS as unknown as Record<string, never>,
      },
      security: [{ bearer: [] }],
    },
  });
}
