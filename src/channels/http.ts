import { Elysia, t } from "elysia";
import { isCanonicalUuid } from "../domain/ids.ts";
import type { JsonObject } from "../domain/list.ts";
import { DISABLED, ENABLED, type EntityStatus, statusName } from "../domain/status.ts";
import { formatTime } from "../domain/time.ts";
import { invalid, Msg } from "../errors/index.ts";
import { entityRoutes, entityView } from "../http/entity-routes.ts";
import { listQuerySchema, MAX_NAME, pageJson, readListFilter } from "../http/list.ts";
import { docs, ok } from "../http/openapi.ts";
import { QueryReader } from "../http/query.ts";
import { ELYSIA_OPTIONS, JsonObjectField, jsonBody, NullableString, Obj, StringList } from "../http/schema.ts";
import { type FastView, reply, requestContext } from "../http/server.ts";
import { memberRoleJson } from "../roles/json.ts";
import type { ChannelsService } from "./service.ts";
import type { Channel, NewChannel } from "./types.ts";

const ChannelCreate = Obj(
  {
    id: t.Optional(NullableString("Optional; any non-blank string of at most 36 characters.")),
    name: t.Optional(NullableString("At most 1024 characters.")),
    tags: t.Optional(StringList()),
    metadata: t.Optional(JsonObjectField()),
    route: t.Optional(NullableString("Optional, unique per domain, immutable: 1-36 of [a-zA-Z0-9_-], starting with a letter, no __ or --, not a UUID.")),
    status: t.Optional(t.Unknown({ description: '"enabled" (default when absent) or "disabled".' })),
    parent_group_id: t.Optional(NullableString()),
  },
  { description: "A channel to create.", examples: [{ name: "lab-telemetry", tags: ["lab"], route: "lab-telemetry", metadata: { retention: "7d" } }] },
);
type ChannelCreateBody = typeof ChannelCreate.static;

const params = t.Object({ domainID: t.String(), channelID: t.String() });
const domainParams = t.Object({ domainID: t.String() });
const doc = docs("channels");

const ROUTE = /^[a-zA-Z][a-zA-Z0-9_-]{0,35}$/;

/** Contract §4: a route is 1-36 chars, starts with a letter, has no `__`/`--` and is not a UUID. */
export function validRoute(route: string): boolean {
  return ROUTE.test(route) && !route.includes("__") && !route.includes("--") && !isCanonicalUuid(route.toLowerCase());
}

/** Response JSON of a channel (contract §1.2); list items also carry `parent_group_path`, as clients do. */
export function channelJson(c: Channel, opts: { list?: boolean } = {}): JsonObject {
  const body: JsonObject = { id: c.id };
  if (c.name) body.name = c.name;
  if (c.tags.length > 0) body.tags = c.tags;
  if (c.parentGroupId) body.parent_group_id = c.parentGroupId;
  body.domain_id = c.domainId;
  if (c.route) body.route = c.route;
  if (Object.keys(c.metadata).length > 0) body.metadata = c.metadata;
  body.created_at = formatTime(c.createdAt);
  body.updated_at = formatTime(c.updatedAt);
  if (c.updatedBy) body.updated_by = c.updatedBy;
  body.status = statusName(c.status);
  // Groups are external (DESIGN decision 7): the path we know is the parent itself.
  if (opts.list && c.parentGroupId) body.parent_group_path = c.parentGroupId;
  return body;
}

/** A channel's JSON `status`: absent means enabled, but an explicit "" is invalid (unlike clients). */
function readChannelStatus(present: boolean, v: unknown): EntityStatus {
  if (!present || v === null || v === "enabled") return ENABLED;
  if (v === "disabled") return DISABLED;
  throw invalid(Msg.invalidStatus);
}

function toNewChannel(b: ChannelCreateBody): NewChannel {
  return {
    id: b.id ?? undefined,
    name: b.name ?? undefined,
    tags: b.tags ?? undefined,
    metadata: b.metadata ?? undefined,
    route: b.route ?? undefined,
    status: readChannelStatus("status" in b, b.status),
    parentGroupId: b.parent_group_id ?? undefined,
  };
}

function validateNewChannel(c: NewChannel): void {
  if ((c.name ?? "").length > MAX_NAME) throw invalid(Msg.nameSize);
  if (c.id !== undefined && c.id !== "" && c.id.trim() === "") throw invalid(Msg.missingChannelId);
  if (c.route && !validRoute(c.route)) throw invalid(Msg.routeFormat);
}

/** GET one channel without a query: answered by Bun's router directly (src/http/server.ts FastView). */
export const channelView = (svc: Pick<ChannelsService, "view">): FastView =>
  entityView({ kind: "channels", idParam: "channelID", svc, json: (row) => channelJson(row) });

export function channelsRoutes(svc: ChannelsService) {
  const view = channelView(svc);
  return new Elysia({ ...ELYSIA_OPTIONS, name: "channels-routes" })
    .post(
      "/:domainID/channels",
      async ({ request, set, body }) => {
        const input = toNewChannel(body ?? {});
        validateNewChannel(input);
        const [created] = await svc.create(requestContext(request), [input]);
        // Percent-encoded: a caller-chosen id may hold characters a header cannot carry (a newline).
        set.headers.location = `/channels/${encodeURIComponent(created!.id)}`;
        return reply(set, 201, channelJson(created!));
      },
      {
        ...jsonBody,
        params: domainParams,
        body: t.Union([ChannelCreate, t.Null()]),
        ...doc({
          id: "createChannel",
          summary: "Create a channel",
          ok: { status: 201, description: "Created.", schema: "Channel", headers: { Location: { description: "/channels/{id}", schema: { type: "string" } } } },
          fails: [400, 415, 422],
          messages: { 400: Msg.routeTaken },
        }),
      },
    )
    .post(
      "/:domainID/channels/bulk",
      async ({ request, set, body }) => {
        const items = body ?? [];
        if (items.length === 0) throw invalid(Msg.emptyList);
        const inputs = items.map(toNewChannel);
        inputs.forEach(validateNewChannel);
        const created = await svc.create(requestContext(request), inputs);
        return reply(set, 200, { total: created.length, channels: created.map((c) => channelJson(c)) });
      },
      {
        ...jsonBody,
        params: domainParams,
        body: t.Union([t.Array(ChannelCreate, { examples: [[{ name: "lab-telemetry", route: "lab-telemetry" }, { name: "lab-alarms" }]] }), t.Null()]),
        ...doc({
          id: "createChannels",
          summary: "Create channels in bulk",
          description: "All or nothing, one transaction.",
          ok: ok("ChannelsCreated", "Created, in the order given."),
          fails: [400, 415, 422],
          messages: { 400: Msg.emptyList },
        }),
      },
    )
    .get(
      "/:domainID/channels",
      async ({ request, set }) => {
        const filter = readListFilter(new QueryReader(request.url), { emptyStatus: "invalid", connectedParam: "client" });
        const page = await svc.list(requestContext(request), filter);
        const item = (c: Channel) => {
          const json = channelJson(c, { list: true });
          if (page.connectionTypes) json.connection_types = page.connectionTypes.get(c.id) ?? [];
          const role = page.memberRoles?.get(c.id)?.[0];
          return role ? { ...json, ...memberRoleJson(role) } : json;
        };
        return reply(set, 200, pageJson("channels", page, item));
      },
      {
        params: domainParams,
        query: Obj({ ...listQuerySchema, client: t.Optional(t.String({ description: "Only channels this client is connected to; adds connection_types." })) }),
        ...doc({
          id: "listChannels",
          summary: "List channels",
          description: "Contract §2 filters; disabled channels are hidden unless status=disabled|all.",
          ok: ok("ChannelsPage", "A page of channels."),
          fails: [400],
          messages: { 400: Msg.limitSize },
        }),
      },
    )
    .get(
      "/:domainID/channels/:channelID",
      async ({ request, params, set }) => {
        if (!request.url.includes("?") || !new QueryReader(request.url).bool("roles", false)) {
          set.status = 200;
          return await view.render(requestContext(request), params.channelID);
        }
        const { entity, roles } = await svc.viewWithRoles(requestContext(request), params.channelID);
        return reply(set, 200, { ...channelJson(entity), roles: roles.map(memberRoleJson) });
      },
      {
        params,
        detail: {
          ...doc({ id: "viewChannel", summary: "View a channel", ok: ok("ChannelWithRoles", "The channel; `roles` only with `?roles=true`."), fails: [404] })
            .detail,
          parameters: [
            {
              name: "roles",
              in: "query",
              required: false,
              schema: { type: "string" },
              description: "true: include the caller's roles on the channel (404 when the caller holds none).",
            },
          ],
        },
      },
    )
    .patch(
      "/:domainID/channels/:channelID",
      async ({ request, params, set, body }) => {
        if ((body.name ?? "").length > MAX_NAME) throw invalid(Msg.nameSize);
        const updated = await svc.update(requestContext(request), params.channelID, { name: body.name ?? undefined, metadata: body.metadata ?? undefined });
        return reply(set, 200, channelJson(updated));
      },
      {
        ...jsonBody,
        params,
        body: Obj(
          { name: t.Optional(NullableString()), metadata: t.Optional(JsonObjectField()) },
          { examples: [{ name: "lab-telemetry-2", metadata: { retention: "30d" } }] },
        ),
        ...doc({
          id: "updateChannel",
          summary: "Update name and metadata",
          description: "Enabled channels only (a disabled one is 404). The route cannot be changed.",
          ok: ok("Channel", "The updated channel."),
          fails: [400, 404, 415],
          messages: { 400: Msg.nameSize },
        }),
      },
    )
    .use(
      entityRoutes({
        kind: "channels",
        idParam: "channelID",
        noun: "Channel",
        svc,
        json: (row) => channelJson(row),
        exampleTags: ["lab", "critical"],
        disableNote: "Its connections stay; Authorize refuses them while it is disabled.",
        deleteNote: "Hard delete; its connections, route and roles go with it.",
      }),
    );
}
