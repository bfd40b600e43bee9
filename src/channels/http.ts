import { Elysia, t } from "elysia";
import { invalid, Msg } from "../errors/index.ts";
import { listQuerySchema, MAX_NAME, pageJson, readListFilter } from "../http/list.ts";
import { QueryReader } from "../http/query.ts";
import { docs, ELYSIA_OPTIONS, JsonObjectField, jsonBody, NullableString, noBody, Obj, StringList } from "../http/schema.ts";
import { reply, replyEmpty, requestContext } from "../http/server.ts";
import { memberRoleJson } from "../roles/json.ts";
import { isCanonicalUuid } from "../shared/ids.ts";
import type { JsonObject } from "../shared/list.ts";
import { DISABLED, ENABLED, type EntityStatus, statusName } from "../shared/status.ts";
import { formatTime } from "../shared/time.ts";
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
  { description: "A channel to create." },
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

export function channelsRoutes(svc: ChannelsService) {
  return new Elysia({ ...ELYSIA_OPTIONS, name: "channels-routes" })
    .post(
      "/:domainID/channels",
      async ({ request, set, body }) => {
        const input = toNewChannel(body ?? {});
        validateNewChannel(input);
        const [created] = await svc.create(requestContext(request), [input]);
        set.headers.location = `/channels/${created!.id}`;
        return reply(set, 201, channelJson(created!));
      },
      { ...jsonBody, params: domainParams, body: t.Union([ChannelCreate, t.Null()]), ...doc("Create a channel", "201 with `Location: /channels/{id}`.") },
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
        body: t.Union([t.Array(ChannelCreate), t.Null()]),
        ...doc("Create channels in bulk", "All or nothing, one transaction."),
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
        ...doc("List channels", "Contract §2 filters; disabled channels are hidden unless status=disabled|all."),
      },
    )
    .get(
      "/:domainID/channels/:channelID",
      async ({ request, params, set }) => {
        if (!request.url.includes("?") || !new QueryReader(request.url).bool("roles", false))
          return reply(set, 200, channelJson(await svc.view(requestContext(request), params.channelID)));
        const { entity, roles } = await svc.viewWithRoles(requestContext(request), params.channelID);
        return reply(set, 200, { ...channelJson(entity), roles: roles.map(memberRoleJson) });
      },
      {
        params,
        detail: {
          ...doc("View a channel").detail,
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
        body: Obj({ name: t.Optional(NullableString()), metadata: t.Optional(JsonObjectField()) }),
        ...doc("Update name and metadata", "Enabled channels only (a disabled one is 404). The route cannot be changed."),
      },
    )
    .patch(
      "/:domainID/channels/:channelID/tags",
      async ({ request, params, set, body }) => reply(set, 200, channelJson(await svc.updateTags(requestContext(request), params.channelID, body.tags ?? []))),
      { ...jsonBody, params, body: Obj({ tags: t.Optional(StringList()) }), ...doc("Replace tags", "Absent or null clears them.") },
    )
    .post(
      "/:domainID/channels/:channelID/enable",
      async ({ request, params, set }) => reply(set, 200, channelJson(await svc.setStatus(requestContext(request), params.channelID, ENABLED))),
      { ...noBody, params, ...doc("Enable a channel") },
    )
    .post(
      "/:domainID/channels/:channelID/disable",
      async ({ request, params, set }) => reply(set, 200, channelJson(await svc.setStatus(requestContext(request), params.channelID, DISABLED))),
      { ...noBody, params, ...doc("Disable a channel", "Its connections stay; Authorize refuses them while it is disabled.") },
    )
    .post(
      "/:domainID/channels/:channelID/parent",
      async ({ request, params, set, body }) => {
        const parent = body.parent_group_id ?? "";
        if (parent === "") throw invalid(Msg.missingParent);
        await svc.setParent(requestContext(request), params.channelID, parent);
        return replyEmpty(set, 200);
      },
      { ...jsonBody, params, body: Obj({ parent_group_id: t.Optional(NullableString()) }), ...doc("Set the parent group", "200 with an empty body.") },
    )
    .delete(
      "/:domainID/channels/:channelID/parent",
      async ({ request, params, set }) => {
        await svc.removeParent(requestContext(request), params.channelID);
        return replyEmpty(set, 204);
      },
      { ...noBody, params, ...doc("Remove the parent group", "204; a no-op when there is none.") },
    )
    .delete(
      "/:domainID/channels/:channelID",
      async ({ request, params, set }) => {
        await svc.remove(requestContext(request), params.channelID);
        return replyEmpty(set, 204);
      },
      { ...noBody, params, ...doc("Delete a channel", "Hard delete; its connections, route and roles go with it.") },
    );
}
