import { Elysia, t } from "elysia";
import { isCanonicalUuid } from "../domain/ids.ts";
import { invalid, Msg } from "../errors/index.ts";
import { docs, empty, ok } from "../http/openapi.ts";
import { QueryReader } from "../http/query.ts";
import { ELYSIA_OPTIONS, jsonBody, NullableString, noBody, Obj, StringList } from "../http/schema.ts";
import { reply, replyEmpty, requestContext } from "../http/server.ts";
import { memberRoleJson, provisionJson, roleJson } from "./json.ts";
import type { RolesService } from "./service.ts";
import { type EntityKind, type EntityMembersFilter, MAX_ROLE_NAME, type Paged, type PageRequest } from "./types.ts";

const USER = "2d4a7c9e-0b1f-4e3d-8a6b-5c7e9f1d3b20";
const RoleCreate = Obj(
  {
    role_name: t.Optional(NullableString("1-200 characters, unique on the entity.")),
    optional_actions: t.Optional(StringList("Actions from the available list.")),
    optional_members: t.Optional(StringList("User ids; each may hold one role per entity.")),
  },
  { examples: [{ role_name: "operators", optional_actions: ["read", "update"], optional_members: [USER] }] },
);
const RoleRename = Obj({ name: t.Optional(NullableString("The new name (note: `name`, not `role_name`).")) }, { examples: [{ name: "field-operators" }] });
const Actions = Obj({ actions: t.Optional(StringList("Actions from the available list.")) }, { examples: [{ actions: ["read", "delete"] }] });
const Members = Obj({ members: t.Optional(StringList("User ids.")) }, { examples: [{ members: [USER] }] });
const MemberIds = Obj({ member_ids: t.Optional(StringList("User ids to remove from every role of the entity.")) }, { examples: [{ member_ids: [USER] }] });

/** Role list and member limits: default 10, 1..100 else 400 `invalid limit size`. */
function readPage(q: QueryReader): PageRequest {
  const offset = q.uint("offset", 0);
  const limit = q.uint("limit", 10);
  if (limit < 1 || limit > 100) throw invalid(Msg.limitSize);
  return { limit, offset };
}

function validateRoleName(name: string | null | undefined): string {
  if (!name) throw invalid(Msg.emptyRoleName);
  if (name.length > MAX_ROLE_NAME) throw invalid(Msg.nameSize);
  return name;
}

function nonEmpty(list: string[] | null | undefined, message: string): string[] {
  if (!list || list.length === 0) throw invalid(message);
  return list;
}

/** Page envelopes of the roles API: every key always present (unlike entity lists). */
const envelope = <T>(key: string, p: Paged<T>, item: (x: T) => unknown) => ({ total: p.total, offset: p.offset, limit: p.limit, [key]: p.items.map(item) });

/**
 * The roles API of contract §5 for one entity kind, under `/{domainID}/clients/{clientID}/roles…`
 * or `/{domainID}/channels/{channelID}/roles…`.
 */
function kindRoutes(kind: EntityKind, svc: RolesService) {
  const plural = `${kind}s`;
  const idParam = `${kind}ID`;
  const base = `/:domainID/${plural}/:${idParam}/roles`;
  const entityParams = t.Object({ domainID: t.String(), [idParam]: t.String() });
  const roleParams = t.Object({ domainID: t.String(), [idParam]: t.String(), roleID: t.String() });
  const entityOf = (params: Record<string, string>) => params[idParam]!;
  const roleIdOf = (params: Record<string, string>) => params.roleID!;
  const doc = docs(`${kind} roles`);
  /** Operation ids: listClientRoles, addChannelRoleActions, … */
  const K = kind === "client" ? "Client" : "Channel";

  return new Elysia({ ...ELYSIA_OPTIONS, name: `${kind}-roles-routes` })
    .get(
      `/:domainID/${plural}/roles/available-actions`,
      ({ request, set }) => {
        requestContext(request);
        return reply(set, 200, { available_actions: svc.availableActions(kind) });
      },
      {
        params: t.Object({ domainID: t.String() }),
        ...doc({
          id: `list${K}RoleAvailableActions`,
          summary: "Available role actions",
          description: `The actions a ${kind} role may hold, in the contract's order.`,
          ok: ok("AvailableActions"),
        }),
      },
    )
    .post(
      base,
      async ({ request, params, set, body }) => {
        const entityId = entityOf(params);
        if (!isCanonicalUuid(entityId)) throw invalid(Msg.invalidId);
        const name = validateRoleName(body.role_name);
        const created = await svc.create(requestContext(request), kind, entityId, { name, actions: body.optional_actions, members: body.optional_members });
        return reply(set, 201, provisionJson(created));
      },
      {
        ...jsonBody,
        params: entityParams,
        body: RoleCreate,
        ...doc({
          id: `create${K}Role`,
          summary: "Create a role",
          description: `The ${kind} id must be a UUID. Unknown action: 400 \`${Msg.invalidAction}\`; name taken or member already in a role of the ${kind}: 422.`,
          ok: { status: 201, description: "Created, with the actions and members it was given.", schema: "RoleProvision" },
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.invalidAction },
        }),
      },
    )
    .get(
      base,
      async ({ request, params, set }) => {
        const p = readPage(new QueryReader(request.url));
        const roles = await svc.list(requestContext(request), kind, entityOf(params), p);
        return reply(set, 200, envelope("roles", roles, roleJson));
      },
      {
        params: entityParams,
        ...doc({
          id: `list${K}Roles`,
          summary: "List roles",
          description: "Oldest first; `limit` 1..100 (default 10), `offset`.",
          ok: ok("RolesPage"),
          fails: [400, 404],
          messages: { 400: Msg.limitSize },
        }),
      },
    )
    .delete(
      base,
      async ({ request, params, set, body }) => {
        const members = nonEmpty(body.member_ids, Msg.emptyRoleMembers);
        await svc.removeEntityMembers(requestContext(request), kind, entityOf(params), members);
        return replyEmpty(set, 204);
      },
      {
        ...jsonBody,
        params: entityParams,
        body: MemberIds,
        ...doc({
          id: `remove${K}MembersFromAllRoles`,
          summary: "Remove users from every role",
          description: 'Body `{"member_ids":[…]}`; absent users are fine.',
          ok: empty(204, "Removed."),
          fails: [400, 404, 415],
          messages: { 400: Msg.emptyRoleMembers },
        }),
      },
    )
    .get(
      `${base}/members`,
      async ({ request, params, set }) => {
        const q = new QueryReader(request.url);
        const p = readPage(q);
        const actions = q.str("actions");
        const filter: EntityMembersFilter = {
          ...p,
          roleId: q.str("role_id") || undefined,
          roleName: q.str("role_name") || undefined,
          actions: actions ? actions.split(",").filter((a) => a !== "") : undefined,
          accessType: q.str("access_type") || undefined,
          accessProviderId: q.str("access_provider_id") || undefined,
        };
        q.str("order"); // accepted (members come by member id)
        const members = await svc.entityMembers(requestContext(request), kind, entityOf(params), filter);
        return reply(
          set,
          200,
          envelope("members", members, (m) => ({ member_id: m.memberId, roles: m.roles.map(memberRoleJson) })),
        );
      },
      {
        params: entityParams,
        ...doc({
          id: `list${K}Members`,
          summary: `The ${kind}'s members`,
          description:
            "Each user holding a role on it, with that role. Filters: `role_id`, `role_name`, `actions` (comma list: the role holds all), `access_type` (only `direct` exists here).",
          ok: ok("EntityMembersPage"),
          fails: [400, 404],
          messages: { 400: Msg.limitSize },
        }),
      },
    )
    .get(
      `${base}/:roleID`,
      async ({ request, params, set }) => reply(set, 200, roleJson(await svc.view(requestContext(request), kind, entityOf(params), roleIdOf(params)))),
      { params: roleParams, ...doc({ id: `view${K}Role`, summary: "View a role", ok: ok("Role"), fails: [404] }) },
    )
    .put(
      `${base}/:roleID`,
      async ({ request, params, set, body }) => {
        const name = validateRoleName(body.name);
        return reply(set, 200, roleJson(await svc.rename(requestContext(request), kind, entityOf(params), roleIdOf(params), name)));
      },
      {
        ...jsonBody,
        params: roleParams,
        body: RoleRename,
        ...doc({
          id: `update${K}Role`,
          summary: "Rename a role",
          description: "Name taken on the entity: 422 `update entity failed`.",
          ok: ok("Role", "The renamed role."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.emptyRoleName, 422: Msg.updateFailed },
        }),
      },
    )
    .delete(
      `${base}/:roleID`,
      async ({ request, params, set }) => {
        await svc.remove(requestContext(request), kind, entityOf(params), roleIdOf(params));
        return replyEmpty(set, 204);
      },
      {
        ...noBody,
        params: roleParams,
        ...doc({
          id: `remove${K}Role`,
          summary: "Delete a role",
          description: "Its actions and members go with it. The built-in `admin` role can be deleted too.",
          ok: empty(204, "Deleted."),
          fails: [404],
        }),
      },
    )
    .post(
      `${base}/:roleID/actions`,
      async ({ request, params, set, body }) => {
        const actions = nonEmpty(body.actions, Msg.missingPolicyEntityType);
        return reply(set, 200, { actions: await svc.addActions(requestContext(request), kind, entityOf(params), roleIdOf(params), actions) });
      },
      {
        ...jsonBody,
        params: roleParams,
        body: Actions,
        ...doc({
          id: `add${K}RoleActions`,
          summary: "Add actions to a role",
          description: `Unknown action: 400 \`${Msg.invalidAction}\`; one already held: 422.`,
          ok: ok("Actions", "The actions added."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.invalidAction, 422: Msg.addPolicies },
        }),
      },
    )
    .get(
      `${base}/:roleID/actions`,
      async ({ request, params, set }) =>
        reply(set, 200, { actions: await svc.listActions(requestContext(request), kind, entityOf(params), roleIdOf(params)) }),
      { params: roleParams, ...doc({ id: `list${K}RoleActions`, summary: "List a role's actions", ok: ok("Actions"), fails: [404] }) },
    )
    .post(
      `${base}/:roleID/actions/delete`,
      async ({ request, params, set, body }) => {
        const actions = nonEmpty(body.actions, Msg.missingPolicyEntityType);
        await svc.removeActions(requestContext(request), kind, entityOf(params), roleIdOf(params), actions);
        return replyEmpty(set, 204);
      },
      {
        ...jsonBody,
        params: roleParams,
        body: Actions,
        ...doc({
          id: `remove${K}RoleActions`,
          summary: "Remove actions from a role",
          description: "Actions the role does not hold are ignored.",
          ok: empty(204, "Removed."),
          fails: [400, 404, 415],
          messages: { 400: Msg.missingPolicyEntityType },
        }),
      },
    )
    .post(
      `${base}/:roleID/actions/delete-all`,
      async ({ request, params, set }) => {
        await svc.removeActions(requestContext(request), kind, entityOf(params), roleIdOf(params));
        return replyEmpty(set, 204);
      },
      {
        ...noBody,
        params: roleParams,
        ...doc({ id: `remove${K}RoleAllActions`, summary: "Remove every action from a role", ok: empty(204, "Removed."), fails: [404] }),
      },
    )
    .post(
      `${base}/:roleID/members`,
      async ({ request, params, set, body }) => {
        const members = nonEmpty(body.members, Msg.emptyRoleMembers);
        return reply(set, 200, { members: await svc.addMembers(requestContext(request), kind, entityOf(params), roleIdOf(params), members) });
      },
      {
        ...jsonBody,
        params: roleParams,
        body: Members,
        ...doc({
          id: `add${K}RoleMembers`,
          summary: "Add members to a role",
          description: `Any user id is accepted (there is no domain registry). Already in this role: 422 \`${Msg.addPolicies}\`; in another role of the ${kind}: 422 \`${Msg.createFailed}\`.`,
          ok: ok("Members", "The members added."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.emptyRoleMembers, 422: Msg.addPolicies },
        }),
      },
    )
    .get(
      `${base}/:roleID/members`,
      async ({ request, params, set }) => {
        const p = readPage(new QueryReader(request.url));
        const members = await svc.listMembers(requestContext(request), kind, entityOf(params), roleIdOf(params), p);
        return reply(
          set,
          200,
          envelope("members", members, (m) => m),
        );
      },
      {
        params: roleParams,
        ...doc({
          id: `list${K}RoleMembers`,
          summary: "List a role's members",
          description: "By user id; `limit` 1..100 (default 10), `offset`.",
          ok: ok("RoleMembersPage"),
          fails: [400, 404],
          messages: { 400: Msg.limitSize },
        }),
      },
    )
    .post(
      `${base}/:roleID/members/delete`,
      async ({ request, params, set, body }) => {
        const members = nonEmpty(body.members, Msg.emptyRoleMembers);
        await svc.removeMembers(requestContext(request), kind, entityOf(params), roleIdOf(params), members);
        return replyEmpty(set, 204);
      },
      {
        ...jsonBody,
        params: roleParams,
        body: Members,
        ...doc({
          id: `remove${K}RoleMembers`,
          summary: "Remove members from a role",
          description: "Users not in the role are ignored.",
          ok: empty(204, "Removed."),
          fails: [400, 404, 415],
          messages: { 400: Msg.emptyRoleMembers },
        }),
      },
    )
    .post(
      `${base}/:roleID/members/delete-all`,
      async ({ request, params, set }) => {
        await svc.removeMembers(requestContext(request), kind, entityOf(params), roleIdOf(params));
        return replyEmpty(set, 204);
      },
      {
        ...noBody,
        params: roleParams,
        ...doc({ id: `remove${K}RoleAllMembers`, summary: "Remove every member from a role", ok: empty(204, "Removed."), fails: [404] }),
      },
    );
}

export function rolesRoutes(svc: RolesService) {
  return new Elysia({ ...ELYSIA_OPTIONS, name: "roles-routes" }).use(kindRoutes("client", svc)).use(kindRoutes("channel", svc));
}
