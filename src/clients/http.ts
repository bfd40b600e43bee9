import { Elysia, t } from "elysia";
import { isCanonicalUuid } from "../domain/ids.ts";
import { DISABLED, ENABLED, type EntityStatus } from "../domain/status.ts";
import { formatTime } from "../domain/time.ts";
import { invalid, Msg } from "../errors/index.ts";
import { entityRoutes, entityView } from "../http/entity-routes.ts";
import { listQuerySchema, MAX_NAME, pageJson, readListFilter } from "../http/list.ts";
import { docs, ok } from "../http/openapi.ts";
import { QueryReader } from "../http/query.ts";
import { ELYSIA_OPTIONS, JsonObjectField, jsonBody, NullableString, Obj, StringList } from "../http/schema.ts";
import { type FastView, reply, requestContext } from "../http/server.ts";
import { memberRoleJson } from "../roles/json.ts";
import type { ClientsService } from "./service.ts";
import { type Client, type JsonObject, type NewClient, statusName } from "./types.ts";

// Body schemas check JSON types only (a wrong type is the contract's "not a valid JSON" 400);
// the checks with their own messages (name size, id format, status) run after, in the handlers,
// in the reference's order.
const Str = NullableString();

const ClientCreate = Obj(
  {
    id: t.Optional(NullableString("Optional; a lowercase canonical UUID.")),
    name: t.Optional(NullableString("At most 1024 characters.")),
    tags: t.Optional(StringList()),
    credentials: t.Optional(
      t.Union([
        Obj({
          identity: t.Optional(NullableString("Free text, at most 254 characters.")),
          secret: t.Optional(NullableString("Unique per domain; generated (UUIDv4) when absent.")),
        }),
        t.Null(),
      ]),
    ),
    metadata: t.Optional(JsonObjectField()),
    private_metadata: t.Optional(JsonObjectField()),
    status: t.Optional(t.Unknown({ description: '"enabled" (default) or "disabled".' })),
    parent_group_id: t.Optional(Str),
  },
  {
    description: "A client (device) to create.",
    examples: [
      {
        name: "thermometer-a1",
        tags: ["lab", "floor-2"],
        credentials: { identity: "thermo-a1", secret: "s3cr3t-thermo" },
        metadata: { room: "a1", model: "TH-200" },
      },
    ],
  },
);
type ClientCreateBody = typeof ClientCreate.static;

const params = t.Object({ domainID: t.String(), clientID: t.String() });
const domainParams = t.Object({ domainID: t.String() });

const json = jsonBody;
const doc = docs("clients");

/** Response JSON of a client (contract §1.1); the secret only when one is given (create). */
export function clientJson(c: Client, opts: { secret?: string; privateMetadata?: boolean; list?: boolean } = {}): JsonObject {
  const credentials: JsonObject = {};
  if (c.identity) credentials.identity = c.identity;
  if (opts.secret) credentials.secret = opts.secret;
  const body: JsonObject = { id: c.id };
  if (c.name) body.name = c.name;
  if (c.tags.length > 0) body.tags = c.tags;
  body.domain_id = c.domainId;
  if (c.parentGroupId) body.parent_group_id = c.parentGroupId;
  body.credentials = credentials;
  if (Object.keys(c.metadata).length > 0) body.metadata = c.metadata;
  if (opts.privateMetadata !== false && Object.keys(c.privateMetadata).length > 0) body.private_metadata = c.privateMetadata;
  body.created_at = formatTime(c.createdAt);
  body.updated_at = formatTime(c.updatedAt);
  if (c.updatedBy) body.updated_by = c.updatedBy;
  body.status = statusName(c.status);
  // Groups are external (DESIGN decision 7): the path we know is the parent itself.
  if (opts.list && c.parentGroupId) body.parent_group_path = c.parentGroupId;
  return body;
}

/** A JSON `status` inside a body: "enabled"/"" or "disabled"; anything else is 400 `invalid status`. */
export function readStatusField(v: unknown): EntityStatus {
  if (v === undefined || v === null || v === "" || v === "enabled") return ENABLED;
  if (v === "disabled") return DISABLED;
  throw invalid(Msg.invalidStatus);
}

function toNewClient(b: ClientCreateBody): NewClient {
  return {
    id: b.id ?? undefined,
    name: b.name ?? undefined,
    tags: b.tags ?? undefined,
    identity: b.credentials?.identity ?? undefined,
    secret: b.credentials?.secret ?? undefined,
    metadata: b.metadata ?? undefined,
    privateMetadata: b.private_metadata ?? undefined,
    status: readStatusField(b.status),
    parentGroupId: b.parent_group_id ?? undefined,
  };
}

function validateNewClient(c: NewClient): void {
  if ((c.name ?? "").length > MAX_NAME) throw invalid(Msg.nameSize);
  if (c.id && !isCanonicalUuid(c.id)) throw invalid(Msg.invalidId);
}

function validateName(name: string | null | undefined): void {
  if ((name ?? "").length > MAX_NAME) throw invalid(Msg.nameSize);
}

/** GET one client without a query: answered by Bun's router directly (src/http/server.ts FastView). */
export const clientView = (svc: Pick<ClientsService, "view">): FastView =>
  entityView({ kind: "clients", idParam: "clientID", svc, json: (row) => clientJson(row) });

export function clientsRoutes(svc: ClientsService) {
  const view = clientView(svc);
  return new Elysia({ ...ELYSIA_OPTIONS, name: "clients-routes" })
    .post(
      "/:domainID/clients",
      async ({ request, set, body }) => {
        const input = toNewClient(body ?? {});
        validateNewClient(input);
        const [created] = await svc.create(requestContext(request), [input]);
        set.headers.location = `/clients/${encodeURIComponent(created!.client.id)}`;
        return reply(set, 201, clientJson(created!.client, { secret: created!.secret }));
      },
      {
        ...json,
        params: domainParams,
        body: t.Union([ClientCreate, t.Null()]),
        ...doc({
          id: "createClient",
          summary: "Create a client",
          description: "201 with `Location: /clients/{id}`; the only response (with bulk) that shows `credentials.secret`.",
          ok: {
            status: 201,
            description: "Created; `credentials.secret` is shown here only.",
            schema: "Client",
            headers: { Location: { description: "/clients/{id}", schema: { type: "string" } } },
          },
          fails: [400, 415, 422],
          messages: { 400: Msg.secretTaken },
        }),
      },
    )
    .post(
      "/:domainID/clients/bulk",
      async ({ request, set, body }) => {
        const items = body ?? [];
        if (items.length === 0) throw invalid(Msg.emptyList);
        const inputs = items.map(toNewClient);
        inputs.forEach(validateNewClient);
        const created = await svc.create(requestContext(request), inputs);
        return reply(set, 200, { total: created.length, clients: created.map((c) => clientJson(c.client, { secret: c.secret })) });
      },
      {
        ...json,
        params: domainParams,
        body: t.Union([
          t.Array(ClientCreate, { examples: [[{ name: "sensor-1" }, { name: "sensor-2", tags: ["lab"], credentials: { identity: "sensor-2" } }]] }),
          t.Null(),
        ]),
        ...doc({
          id: "createClients",
          summary: "Create clients in bulk",
          description: "All or nothing, one transaction. Each generated secret is shown here only.",
          ok: ok("ClientsCreated", "Created, in the order given."),
          fails: [400, 415, 422],
          messages: { 400: Msg.emptyList },
        }),
      },
    )
    .get(
      "/:domainID/clients",
      async ({ request, set }) => {
        const query = new QueryReader(request.url);
        const filter = readListFilter(query, { emptyStatus: "enabled", connectedParam: "channel" });
        const connected = query.str("connected");
        if (connected === "true" || connected === "false") filter.connected = connected === "true";
        else if (connected !== undefined && connected !== "") throw invalid(Msg.queryParams);
        const page = await svc.list(requestContext(request), filter);
        // As super-admin: no secret (never shown after create anyway) and no private metadata.
        const item = (c: Client) => {
          const json = clientJson(c, { privateMetadata: false, list: true });
          if (page.connectionTypes) json.connection_types = page.connectionTypes.get(c.id) ?? [];
          const role = page.memberRoles?.get(c.id)?.[0];
          return role ? { ...json, ...memberRoleJson(role) } : json;
        };
        return reply(set, 200, pageJson("clients", page, item));
      },
      {
        params: domainParams,
        query: Obj({
          ...listQuerySchema,
          channel: t.Optional(t.String({ description: "Only clients connected to this channel; adds connection_types." })),
          connected: t.Optional(
            t.String({ description: "true / false: only clients with / without a live broker session (presence, written within a second)." }),
          ),
        }),
        ...doc({
          id: "listClients",
          summary: "List clients",
          description: "Contract §2 filters; disabled clients are hidden unless status=disabled|all.",
          ok: ok("ClientsPage", "A page of clients (no secrets, no private metadata)."),
          fails: [400],
          messages: { 400: Msg.limitSize },
        }),
      },
    )
    .get(
      "/:domainID/clients/:clientID",
      async ({ request, params, set }) => {
        if (!request.url.includes("?") || !new QueryReader(request.url).bool("roles", false)) {
          set.status = 200;
          return await view.render(requestContext(request), params.clientID);
        }
        const { entity, roles } = await svc.viewWithRoles(requestContext(request), params.clientID);
        // As in Magistrala: private metadata is not shown on this path.
        return reply(set, 200, { ...clientJson(entity, { privateMetadata: false }), roles: roles.map(memberRoleJson) });
      },
      {
        params,
        // `roles` is read by QueryReader; no Elysia query schema here, so the hot GET skips query parsing.
        detail: {
          ...doc({
            id: "viewClient",
            summary: "View a client",
            ok: ok("ClientWithRoles", "The client; `roles` only with `?roles=true`."),
            fails: [404],
          }).detail,
          parameters: [
            {
              name: "roles",
              in: "query",
              required: false,
              schema: { type: "string" },
              description: "true: include the caller's roles on the client (404 when the caller holds none).",
            },
          ],
        },
      },
    )
    .patch(
      "/:domainID/clients/:clientID",
      async ({ request, params, set, body }) => {
        const b = body;
        validateName(b.name);
        const updated = await svc.update(requestContext(request), params.clientID, {
          name: b.name ?? undefined,
          metadata: b.metadata ?? undefined,
          privateMetadata: b.private_metadata ?? undefined,
        });
        return reply(set, 200, clientJson(updated));
      },
      {
        ...json,
        params,
        body: Obj(
          { name: t.Optional(Str), metadata: t.Optional(JsonObjectField()), private_metadata: t.Optional(JsonObjectField()) },
          { examples: [{ name: "thermometer-b2", metadata: { room: "b2" } }] },
        ),
        ...doc({
          id: "updateClient",
          summary: "Update name and metadata",
          description: "Enabled clients only (a disabled one is 404). `{}` clears a metadata object; absent or null leaves it.",
          ok: ok("Client", "The updated client."),
          fails: [400, 404, 415],
          messages: { 400: Msg.nameSize },
        }),
      },
    )
    .patch(
      "/:domainID/clients/:clientID/secret",
      async ({ request, params, set, body }) => {
        const secret = body.secret ?? "";
        if (secret === "") throw invalid(Msg.missingSecret);
        return reply(set, 200, clientJson(await svc.updateSecret(requestContext(request), params.clientID, secret)));
      },
      {
        ...json,
        params,
        body: Obj({ secret: t.Optional(Str) }, { examples: [{ secret: "n3w-s3cr3t-2026" }] }),
        ...doc({
          id: "updateClientSecret",
          summary: "Change the secret",
          description: "Unique per domain; the response does not show it.",
          ok: ok("Client", "The updated client, without the secret."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.missingSecret },
        }),
      },
    )
    .use(
      entityRoutes({
        kind: "clients",
        idParam: "clientID",
        noun: "Client",
        svc,
        json: (row) => clientJson(row),
        exampleTags: ["lab", "floor-3"],
        disableNote: "It can no longer authenticate; its connections stay.",
        deleteNote: "Hard delete; its connections and roles go with it.",
      }),
    );
}
