import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { queryStore } from "./helpers/backend.ts";
import { request, startTestService, type TestService } from "./helpers/service.ts";

/** The roles API of contract §5 on clients and channels, over real sockets on a real SQLite file. */

const USER = "3b9d0c2e-7f41-4a6b-9c8d-1e2f3a4b5c6d";
let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_STANDALONE_ID: USER, MG_CLIENTS_STANDALONE_TOKEN: "tok-roles" });
});
afterAll(() => svc.dispose());

const MALFORMED = "request body is not a valid JSON, expecting a valid JSON";
const ZERO = "0001-01-01T00:00:00Z";
const expectError = (r: { status: number; json: any }, status: number, message: string) =>
  expect({ status: r.status, body: r.json }).toEqual({ status, body: { message } });

const ACTIONS = {
  client: ["update", "read", "delete", "set_parent_group", "connect_to_channel", "manage_role", "add_role_users", "remove_role_users", "view_role_users"],
  channel: [
    "update",
    "read",
    "delete",
    "set_parent_group",
    "connect_to_client",
    "publish",
    "subscribe",
    "manage_role",
    "add_role_users",
    "remove_role_users",
    "view_role_users",
  ],
} as const;
type Kind = keyof typeof ACTIONS;
const ROLE_KEYS = ["created_at", "created_by", "entity_id", "id", "name", "updated_at", "updated_by"];

let n = 0;
const domain = () => `rd${++n}-${randomUUID().slice(0, 8)}`;

/** One read query on the service's store, whichever the backend. */
const query = <T = any>(sql: string, ...params: string[]): Promise<T[]> => queryStore<T>(svc.store, sql, params);

describe.each(["client", "channel"] as const)("%s roles", (kind: Kind) => {
  const plural = `${kind}s`;
  const other = ACTIONS[kind].filter((a) => a !== "read");
  const newEntity = async (d: string, body: Record<string, unknown> = {}) => {
    const r = await svc.api("POST", `/${d}/${plural}`, body);
    expect(r.status).toBe(201);
    return r.json.id as string;
  };
  const roles = (d: string, id: string, rest = "") => `/${d}/${plural}/${id}/roles${rest}`;
  const newRole = async (d: string, id: string, body: Record<string, unknown>) => {
    const r = await svc.api("POST", roles(d, id), body);
    expect(r.status).toBe(201);
    return r.json;
  };

  test("available actions: the exact list, in the contract's order", async () => {
    const r = await svc.api("GET", `/any-domain/${plural}/roles/available-actions`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ available_actions: [...ACTIONS[kind]] });
    expect((await svc.api("GET", `/any-domain/${plural}/roles/available-actions`, undefined, { authorization: "Bearer nope" })).status).toBe(401);
  });

  test("create makes the built-in admin role: every action, the creator as only member", async () => {
    const d = domain();
    const id = await newEntity(d);
    const list = await svc.api("GET", roles(d, id));
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ total: 1, offset: 0, limit: 10 });
    const admin = list.json.roles[0];
    expect(Object.keys(admin).sort()).toEqual(ROLE_KEYS);
    expect(admin).toMatchObject({ name: "admin", entity_id: id, created_by: USER, updated_by: "", updated_at: ZERO });
    expect(admin.id).toMatch(new RegExp(`^${kind}_[0-9a-z]+$`));
    expect((await svc.api("GET", roles(d, id, `/${admin.id}/actions`))).json).toEqual({ actions: [...ACTIONS[kind]] });
    expect((await svc.api("GET", roles(d, id, `/${admin.id}/members`))).json).toEqual({ total: 1, offset: 0, limit: 10, members: [USER] });
  });

  test("role ids: 20 base-36 characters led by the creation time, so they sort as created", async () => {
    const d = domain();
    const before = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await newEntity(d);
      ids.push((await svc.api("GET", roles(d, id))).json.roles[0].id);
      await Bun.sleep(2);
    }
    const after = Date.now();
    for (const id of ids) {
      expect(id).toMatch(new RegExp(`^${kind}_[0-9a-z]{20}$`));
      const ms = Number.parseInt(id.slice(kind.length + 1, kind.length + 10), 36);
      expect(ms).toBeGreaterThanOrEqual(before);
      expect(ms).toBeLessThanOrEqual(after);
    }
    expect([...ids].sort()).toEqual(ids);
  });

  test("bulk create gives each entity its own admin role", async () => {
    const d = domain();
    const r = await svc.api("POST", `/${d}/${plural}/bulk`, [{ name: "a" }, { name: "b" }, { name: "c" }]);
    expect(r.status).toBe(200);
    const ids: string[] = r.json[plural].map((e: any) => e.id);
    const roleIds = new Set<string>();
    for (const id of ids) {
      const list = (await svc.api("GET", roles(d, id))).json;
      expect(list.total).toBe(1);
      expect(list.roles[0]).toMatchObject({ name: "admin", entity_id: id, created_by: USER });
      roleIds.add(list.roles[0].id);
      expect((await svc.api("GET", roles(d, id, `/${list.roles[0].id}/actions`))).json.actions).toEqual([...ACTIONS[kind]]);
    }
    expect(roleIds.size).toBe(3);
  });

  test("create answers 201 with the RoleProvision; list is oldest first with every key", async () => {
    const d = domain();
    const id = await newEntity(d);
    const r = await svc.api("POST", roles(d, id), { role_name: "operators", optional_actions: ["read", "update"], optional_members: ["u-1", "u-2"], extra: 1 });
    expect(r.status).toBe(201);
    expect(Object.keys(r.json).sort()).toEqual([...ROLE_KEYS, "optional_actions", "optional_members"].sort());
    expect(r.json).toMatchObject({
      name: "operators",
      entity_id: id,
      created_by: USER,
      updated_by: "",
      updated_at: ZERO,
      optional_actions: ["read", "update"],
      optional_members: ["u-1", "u-2"],
    });
    expect(r.json.id).toMatch(new RegExp(`^${kind}_`));
    // omitted optional lists echo as null
    const bare = await newRole(d, id, { role_name: "bare" });
    expect(bare).toMatchObject({ optional_actions: null, optional_members: null });
    expect((await svc.api("GET", roles(d, id, `/${bare.id}/actions`))).json).toEqual({ actions: [] });
    expect((await svc.api("GET", roles(d, id, `/${bare.id}/members`))).json).toEqual({ total: 0, offset: 0, limit: 10, members: [] });

    const list = await svc.api("GET", roles(d, id));
    expect(list.json.roles.map((x: any) => x.name)).toEqual(["admin", "operators", "bare"]);
    expect((await svc.api("GET", roles(d, id, "?limit=1&offset=1"))).json).toMatchObject({ total: 3, offset: 1, limit: 1, roles: [{ name: "operators" }] });
    expect((await svc.api("GET", roles(d, id, "?offset=5"))).json).toEqual({ total: 3, offset: 5, limit: 10, roles: [] });
    expect((await svc.api("GET", roles(d, id, `/${r.json.id}`))).json).toEqual((({ optional_actions, optional_members, ...role }) => role)(r.json));
  });

  test("create: validation and conflicts", async () => {
    const d = domain();
    const id = await newEntity(d);
    expectError(await svc.api("POST", roles(d, id), {}), 400, "empty role name");
    expectError(await svc.api("POST", roles(d, id), { role_name: "" }), 400, "empty role name");
    expectError(await svc.api("POST", roles(d, id), { role_name: "x".repeat(201) }), 400, "invalid name size");
    expect((await svc.api("POST", roles(d, id), { role_name: "y".repeat(200) })).status).toBe(201);
    expectError(await svc.api("POST", roles(d, id), { role_name: "r", optional_actions: ["read", "fly"] }), 400, "invalid action provided");
    expectError(await svc.api("POST", roles(d, id), { role_name: "r", optional_actions: "read" }), 400, MALFORMED);
    expectError(await svc.api("POST", roles(d, id), "{"), 400, MALFORMED);
    expectError(await svc.api("POST", roles(d, id), { role_name: "r" }, { "content-type": "text/plain" }), 415, "unsupported content type");
    expectError(await svc.api("POST", roles(d, id), { role_name: "admin" }), 422, "failed to create entity");
    // one role per member per entity: the creator already holds admin
    expectError(await svc.api("POST", roles(d, id), { role_name: "r", optional_members: [USER] }), 422, "failed to create entity");
    expectError(await svc.api("POST", roles(d, id), { role_name: "r", optional_members: ["u", "u"] }), 422, "failed to create entity");
    expectError(await svc.api("POST", roles(d, id), { role_name: "r", optional_members: [""] }), 400, "empty role members");
    // the entity: not a UUID (create only), missing, or in another domain
    expectError(await svc.api("POST", roles(d, "not-a-uuid"), { role_name: "r" }), 400, "invalid id format provided");
    expectError(await svc.api("POST", roles(d, id.toUpperCase()), { role_name: "r" }), 400, "invalid id format provided");
    expectError(await svc.api("POST", roles(d, randomUUID()), { role_name: "r" }), 404, "entity not found");
    expectError(await svc.api("POST", roles("elsewhere", id), { role_name: "r" }), 404, "entity not found");
    // nothing of the failed attempts was stored
    expect((await svc.api("GET", roles(d, id))).json.roles.map((x: any) => x.name)).toEqual(["admin", "y".repeat(200)]);
    expect((await svc.api("POST", roles(d, id), { role_name: "r" }, { authorization: "" })).status).toBe(401);
  });

  test("list, view and members: limits and unknown ids", async () => {
    const d = domain();
    const id = await newEntity(d);
    const admin = (await svc.api("GET", roles(d, id))).json.roles[0].id;
    for (const path of ["", "/members", `/${admin}/members`]) {
      expectError(await svc.api("GET", roles(d, id, `${path}?limit=0`)), 400, "invalid limit size");
      expectError(await svc.api("GET", roles(d, id, `${path}?limit=101`)), 400, "invalid limit size");
      expectError(await svc.api("GET", roles(d, id, `${path}?limit=x`)), 400, "invalid query parameters");
      expectError(await svc.api("GET", roles(d, id, `${path}?limit=1&limit=2`)), 400, "invalid query parameters");
      expect((await svc.api("GET", roles(d, id, `${path}?limit=100`))).status).toBe(200);
      expectError(await svc.api("GET", roles(d, randomUUID(), path)), 404, "entity not found");
      expectError(await svc.api("GET", roles("elsewhere", id, path)), 404, "entity not found");
    }
    const otherEntity = await newEntity(d);
    const foreignRole = (await svc.api("GET", roles(d, otherEntity))).json.roles[0].id;
    for (const [method, rest, body] of [
      ["GET", "", undefined],
      ["PUT", "", { name: "x" }],
      ["DELETE", "", undefined],
      ["GET", "/actions", undefined],
      ["POST", "/actions", { actions: ["read"] }],
      ["POST", "/actions/delete", { actions: ["read"] }],
      ["POST", "/actions/delete-all", undefined],
      ["GET", "/members", undefined],
      ["POST", "/members", { members: ["m"] }],
      ["POST", "/members/delete", { members: ["m"] }],
      ["POST", "/members/delete-all", undefined],
    ] as const) {
      // a role of another entity, an unknown role id, a missing entity: 404
      expectError(await svc.api(method, roles(d, id, `/${foreignRole}${rest}`), body), 404, "entity not found");
      expectError(await svc.api(method, roles(d, id, `/${kind}_nosuchrole${rest}`), body), 404, "entity not found");
      expectError(await svc.api(method, roles(d, randomUUID(), `/${admin}${rest}`), body), 404, "entity not found");
    }
  });

  test("rename: 200 with the role stamped; empty, too long and taken names", async () => {
    const d = domain();
    const id = await newEntity(d);
    const role = await newRole(d, id, { role_name: "old" });
    const r = await svc.api("PUT", roles(d, id, `/${role.id}`), { name: "new", role_name: "ignored" });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(ROLE_KEYS);
    expect(r.json).toMatchObject({ id: role.id, name: "new", entity_id: id, created_by: USER, created_at: role.created_at, updated_by: USER });
    expect(r.json.updated_at).not.toBe(ZERO);
    expect((await svc.api("GET", roles(d, id, `/${role.id}`))).json).toEqual(r.json);
    expectError(await svc.api("PUT", roles(d, id, `/${role.id}`), { role_name: "x" }), 400, "empty role name");
    expectError(await svc.api("PUT", roles(d, id, `/${role.id}`), { name: "" }), 400, "empty role name");
    expectError(await svc.api("PUT", roles(d, id, `/${role.id}`), { name: "x".repeat(201) }), 400, "invalid name size");
    expectError(await svc.api("PUT", roles(d, id, `/${role.id}`), { name: "admin" }), 422, "update entity failed");
    expect((await svc.api("PUT", roles(d, id, `/${role.id}`), { name: "new" })).status).toBe(200);
    // the built-in role can be renamed, and its old name reused
    const admin = (await svc.api("GET", roles(d, id))).json.roles[0];
    expect((await svc.api("PUT", roles(d, id, `/${admin.id}`), { name: "owners" })).json.name).toBe("owners");
    expect((await svc.api("POST", roles(d, id), { role_name: "admin" })).status).toBe(201);
  });

  test("delete a role: 204, then 404; its actions and members go with it", async () => {
    const d = domain();
    const id = await newEntity(d);
    const role = await newRole(d, id, { role_name: "gone", optional_actions: ["read"], optional_members: ["m-1"] });
    const del = await svc.api("DELETE", roles(d, id, `/${role.id}`));
    expect({ status: del.status, text: del.text }).toEqual({ status: 204, text: "" });
    expectError(await svc.api("GET", roles(d, id, `/${role.id}`)), 404, "entity not found");
    expectError(await svc.api("DELETE", roles(d, id, `/${role.id}`)), 404, "entity not found");
    expect(await query(`SELECT * FROM ${kind}_role_actions WHERE role_id = ?`, role.id)).toEqual([]);
    expect(await query(`SELECT * FROM ${kind}_role_members WHERE role_id = ?`, role.id)).toEqual([]);
    // the member is free to join another role now
    expect((await svc.api("POST", roles(d, id), { role_name: "again", optional_members: ["m-1"] })).status).toBe(201);
    // the built-in role can be deleted too
    const admin = (await svc.api("GET", roles(d, id))).json.roles[0];
    expect((await svc.api("DELETE", roles(d, id, `/${admin.id}`))).status).toBe(204);
    expect((await svc.api("GET", roles(d, id))).json.roles.map((x: any) => x.name)).toEqual(["again"]);
  });

  test("actions: add (200 echo), list, remove, remove all; errors", async () => {
    const d = domain();
    const id = await newEntity(d);
    const role = await newRole(d, id, { role_name: "ops" });
    const path = roles(d, id, `/${role.id}/actions`);
    const add = await svc.api("POST", path, { actions: ["delete", "read"] });
    expect(add.status).toBe(200);
    expect(add.json).toEqual({ actions: ["delete", "read"] });
    // listed in the contract's order; adding stamps the role
    expect((await svc.api("GET", path)).json).toEqual({ actions: ["read", "delete"] });
    expect((await svc.api("GET", roles(d, id, `/${role.id}`))).json.updated_by).toBe(USER);
    expectError(await svc.api("POST", path, { actions: [] }), 400, "missing policy entity type");
    expectError(await svc.api("POST", path, {}), 400, "missing policy entity type");
    expectError(await svc.api("POST", path, { actions: ["read"] }), 422, "failed to add policies");
    expectError(await svc.api("POST", path, { actions: [other[0], other[0]] }), 422, "failed to add policies");
    expectError(await svc.api("POST", path, { actions: ["update", "launch"] }), 400, "invalid action provided");
    const wrongKind = kind === "client" ? "publish" : "connect_to_channel";
    expectError(await svc.api("POST", path, { actions: [wrongKind] }), 400, "invalid action provided");
    expectError(await svc.api("POST", path, { actions: [1] }), 400, MALFORMED);
    expect((await svc.api("GET", path)).json).toEqual({ actions: ["read", "delete"] });

    expectError(await svc.api("POST", `${path}/delete`, { actions: [] }), 400, "missing policy entity type");
    const rm = await svc.api("POST", `${path}/delete`, { actions: ["read", "update", "launch"] });
    expect({ status: rm.status, text: rm.text }).toEqual({ status: 204, text: "" });
    expect((await svc.api("GET", path)).json).toEqual({ actions: ["delete"] });
    expect((await svc.api("POST", `${path}/delete`, { actions: ["read"] })).status).toBe(204); // absent: no-op
    expect((await svc.api("POST", path, { actions: [...ACTIONS[kind]].filter((a) => a !== "delete") })).status).toBe(200);
    expect((await svc.api("GET", path)).json.actions).toEqual([...ACTIONS[kind]]);
    expect((await svc.api("POST", `${path}/delete-all`)).status).toBe(204);
    expect((await svc.api("GET", path)).json).toEqual({ actions: [] });
    expect((await svc.api("POST", `${path}/delete-all`)).status).toBe(204);
  });

  test("members: add (200 echo), list, remove, remove all; one role per member per entity", async () => {
    const d = domain();
    const id = await newEntity(d);
    const role = await newRole(d, id, { role_name: "viewers", optional_actions: ["read"] });
    const admin = (await svc.api("GET", roles(d, id))).json.roles[0].id;
    const path = roles(d, id, `/${role.id}/members`);
    const add = await svc.api("POST", path, { members: ["u-c", "u-a", "u-b"] });
    expect(add.status).toBe(200);
    expect(add.json).toEqual({ members: ["u-c", "u-a", "u-b"] });
    expect((await svc.api("GET", path)).json).toEqual({ total: 3, offset: 0, limit: 10, members: ["u-a", "u-b", "u-c"] });
    expect((await svc.api("GET", `${path}?limit=1&offset=1`)).json).toEqual({ total: 3, offset: 1, limit: 1, members: ["u-b"] });
    expectError(await svc.api("POST", path, { members: [] }), 400, "empty role members");
    expectError(await svc.api("POST", path, {}), 400, "empty role members");
    expectError(await svc.api("POST", path, { members: ["u-a"] }), 422, "failed to add policies");
    expectError(await svc.api("POST", path, { members: ["u-d", "u-d"] }), 422, "failed to add policies");
    // in another role of the same entity (the creator holds admin)
    expectError(await svc.api("POST", path, { members: [USER] }), 422, "failed to create entity");
    expectError(await svc.api("POST", roles(d, id, `/${admin}/members`), { members: ["u-a"] }), 422, "failed to create entity");
    // any user id is accepted (no domain registry); the same user may hold roles on other entities
    const second = await newEntity(d);
    const r2 = await newRole(d, second, { role_name: "viewers" });
    expect((await svc.api("POST", roles(d, second, `/${r2.id}/members`), { members: ["u-a"] })).status).toBe(200);

    expectError(await svc.api("POST", `${path}/delete`, { members: [] }), 400, "empty role members");
    expect((await svc.api("POST", `${path}/delete`, { members: ["u-a", "nobody"] })).status).toBe(204);
    expect((await svc.api("GET", path)).json.members).toEqual(["u-b", "u-c"]);
    expect((await svc.api("POST", `${path}/delete`, { members: ["u-a"] })).status).toBe(204);
    expect((await svc.api("POST", `${path}/delete-all`)).status).toBe(204);
    expect((await svc.api("GET", path)).json).toEqual({ total: 0, offset: 0, limit: 10, members: [] });
    // removed from this role, a user may join another role of the entity
    expect((await svc.api("POST", roles(d, id, `/${admin}/members`), { members: ["u-a"] })).status).toBe(200);
  });

  test("the entity's members, with their roles; filters", async () => {
    const d = domain();
    const id = await newEntity(d);
    const role = await newRole(d, id, { role_name: "viewers", optional_actions: ["read"], optional_members: ["u-1", "u-2"] });
    const admin = (await svc.api("GET", roles(d, id))).json.roles[0].id;
    const r = await svc.api("GET", roles(d, id, "/members"));
    expect(r.status).toBe(200);
    const viewer = (m: string) => ({ member_id: m, roles: [{ role_id: role.id, role_name: "viewers", actions: ["read"], access_type: "direct" }] });
    const adminMember = { member_id: USER, roles: [{ role_id: admin, role_name: "admin", actions: [...ACTIONS[kind]], access_type: "direct" }] };
    expect(r.json).toEqual({
      total: 3,
      offset: 0,
      limit: 10,
      members: [adminMember, viewer("u-1"), viewer("u-2")].sort((a, b) => a.member_id.localeCompare(b.member_id)),
    });
    expect((await svc.api("GET", roles(d, id, `/members?role_id=${role.id}`))).json).toEqual({
      total: 2,
      offset: 0,
      limit: 10,
      members: [viewer("u-1"), viewer("u-2")],
    });
    expect((await svc.api("GET", roles(d, id, "/members?role_name=admin"))).json).toEqual({ total: 1, offset: 0, limit: 10, members: [adminMember] });
    expect((await svc.api("GET", roles(d, id, "/members?actions=read,update"))).json.members).toEqual([adminMember]);
    expect((await svc.api("GET", roles(d, id, "/members?actions=read&limit=1&offset=1"))).json).toMatchObject({ total: 3, offset: 1, limit: 1 });
    expect((await svc.api("GET", roles(d, id, "/members?access_type=direct"))).json.total).toBe(3);
    expect((await svc.api("GET", roles(d, id, "/members?access_type=domain"))).json).toEqual({ total: 0, offset: 0, limit: 10, members: [] });
  });

  test("DELETE …/roles with member_ids removes those users from every role of the entity", async () => {
    const d = domain();
    const id = await newEntity(d);
    const keep = await newEntity(d);
    const a = await newRole(d, id, { role_name: "a", optional_members: ["u-1", "u-3"] });
    const b = await newRole(d, id, { role_name: "b", optional_members: ["u-2"] });
    const k = await newRole(d, keep, { role_name: "k", optional_members: ["u-1"] });
    const r = await svc.api("DELETE", roles(d, id), { member_ids: ["u-1", "u-2", "nobody"] });
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: "" });
    expect((await svc.api("GET", roles(d, id, `/${a.id}/members`))).json.members).toEqual(["u-3"]);
    expect((await svc.api("GET", roles(d, id, `/${b.id}/members`))).json.members).toEqual([]);
    expect((await svc.api("GET", roles(d, keep, `/${k.id}/members`))).json.members).toEqual(["u-1"]); // another entity: untouched
    expect((await svc.api("GET", roles(d, id, `/${a.id}`))).json.updated_by).toBe(USER);
    expectError(await svc.api("DELETE", roles(d, id), { member_ids: [] }), 400, "empty role members");
    expectError(await svc.api("DELETE", roles(d, id), {}), 400, "empty role members");
    expectError(await svc.api("DELETE", roles(d, id), "nope"), 400, MALFORMED);
    expectError(await svc.api("DELETE", roles(d, randomUUID()), { member_ids: ["u-3"] }), 404, "entity not found");
    expect((await svc.api("DELETE", roles(d, id), { member_ids: ["nobody"] })).status).toBe(204);
  });

  test("?roles=true adds the caller's roles; a caller holding none gets 404", async () => {
    const d = domain();
    const id = await newEntity(d);
    const plain = await svc.api("GET", `/${d}/${plural}/${id}`);
    expect("roles" in plain.json).toBe(false);
    expect("roles" in (await svc.api("GET", `/${d}/${plural}/${id}?roles=false`)).json).toBe(false);
    const r = await svc.api("GET", `/${d}/${plural}/${id}?roles=true`);
    expect(r.status).toBe(200);
    const admin = (await svc.api("GET", roles(d, id))).json.roles[0].id;
    expect(r.json).toEqual({ ...plain.json, roles: [{ role_id: admin, role_name: "admin", actions: [...ACTIONS[kind]], access_type: "direct" }] });
    expectError(await svc.api("GET", `/${d}/${plural}/${id}?roles=maybe`), 400, "invalid query parameters");
    // the caller leaves its role: 404 with roles, 200 without
    expect((await svc.api("DELETE", roles(d, id), { member_ids: [USER] })).status).toBe(204);
    expectError(await svc.api("GET", `/${d}/${plural}/${id}?roles=true`), 404, "entity not found");
    expect((await svc.api("GET", `/${d}/${plural}/${id}`)).status).toBe(200);
    expectError(await svc.api("GET", `/${d}/${plural}/${randomUUID()}?roles=true`), 404, "entity not found");
  });

  test("list with user=: the entities on which that user holds a role, with the role", async () => {
    const d = domain();
    const [e1, e2, e3] = [await newEntity(d, { name: "e1" }), await newEntity(d, { name: "e2" }), await newEntity(d, { name: "e3" })];
    const r1 = await newRole(d, e1, { role_name: "ops", optional_actions: ["update", "read"], optional_members: ["alice"] });
    await newRole(d, e3, { role_name: "viewers", optional_actions: ["read"], optional_members: ["alice"] });
    await newRole(d, e2, { role_name: "viewers", optional_members: ["bob"] });
    const r = await svc.api("GET", `/${d}/${plural}?user=alice&order=name&dir=asc`);
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(2);
    expect(r.json[plural].map((e: any) => e.id)).toEqual([e1, e3]);
    expect(r.json[plural][0]).toMatchObject({ id: e1, role_id: r1.id, role_name: "ops", actions: ["update", "read"], access_type: "direct" });
    expect(r.json[plural][1]).toMatchObject({ id: e3, role_name: "viewers", actions: ["read"] });
    expect((await svc.api("GET", `/${d}/${plural}?user=bob`)).json.total).toBe(1);
    expect((await svc.api("GET", `/${d}/${plural}?user=nobody`)).json).toEqual({ limit: 10, total: 0 });
    // the creator holds admin on all three
    expect((await svc.api("GET", `/${d}/${plural}?user=${USER}&only_total=true`)).json.total).toBe(3);
    // other filters still apply, and a plain list shows no role fields
    expect((await svc.api("GET", `/${d}/${plural}?user=alice&name=e3`)).json.total).toBe(1);
    expect("role_id" in (await svc.api("GET", `/${d}/${plural}`)).json[plural][0]).toBe(false);
    expectError(await svc.api("GET", `/${d}/${plural}?user=a&user=b`), 400, "invalid query parameters");
  });

  test("deleting the entity deletes its roles, actions and members (no orphan rows)", async () => {
    const d = domain();
    const id = await newEntity(d);
    const keep = await newEntity(d);
    await newRole(d, id, { role_name: "a", optional_actions: ["read"], optional_members: ["u-1"] });
    await newRole(d, keep, { role_name: "a", optional_actions: ["read"], optional_members: ["u-1"] });
    const count = async (table: string, where: string, v: string) =>
      Number((await query<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, v))[0]!.n);
    expect(await count(`${kind}_roles`, "entity_id = ?", id)).toBe(2);
    expect((await svc.api("DELETE", `/${d}/${plural}/${id}`)).status).toBe(204);
    expect(await count(`${kind}_roles`, "entity_id = ?", id)).toBe(0);
    expect(await count(`${kind}_role_members`, "entity_id = ?", id)).toBe(0);
    // no action or member row anywhere points at a missing role
    expect(await query(`SELECT a.role_id FROM ${kind}_role_actions a LEFT JOIN ${kind}_roles r ON r.id = a.role_id WHERE r.id IS NULL`)).toEqual([]);
    expect(await query(`SELECT m.role_id FROM ${kind}_role_members m LEFT JOIN ${kind}_roles r ON r.id = m.role_id WHERE r.id IS NULL`)).toEqual([]);
    expect(await query(`SELECT r.id FROM ${kind}_roles r LEFT JOIN ${plural} e ON e.id = r.entity_id WHERE e.id IS NULL`)).toEqual([]);
    // the other entity keeps its roles; the deleted one's roles are 404
    expect(await count(`${kind}_roles`, "entity_id = ?", keep)).toBe(2);
    expectError(await svc.api("GET", roles(d, id)), 404, "entity not found");
  });
});

describe("channel roles on custom ids", () => {
  test("a channel with a non-UUID id gets its admin role, but roles cannot be created on it", async () => {
    const d = domain();
    expect((await svc.api("POST", `/${d}/channels`, { id: "kitchen-temp" })).status).toBe(201);
    const list = await svc.api("GET", `/${d}/channels/kitchen-temp/roles`);
    expect(list.json).toMatchObject({ total: 1, roles: [{ name: "admin", entity_id: "kitchen-temp" }] });
    expectError(await svc.api("POST", `/${d}/channels/kitchen-temp/roles`, { role_name: "r" }), 400, "invalid id format provided");
    expect((await svc.api("GET", `/${d}/channels/kitchen-temp?roles=true`)).json.roles[0].role_name).toBe("admin");
  });

  test("roles routes next to entity routes: wrong method 405, unknown path 404", async () => {
    const d = domain();
    const id = (await svc.api("POST", `/${d}/clients`, {})).json.id;
    expect((await svc.api("PATCH", `/${d}/clients/${id}/roles`, {})).status).toBe(405);
    expect((await svc.api("POST", `/${d}/clients/roles/available-actions`)).status).toBe(405);
    expect((await svc.api("GET", `/${d}/clients/${id}/roles/x/y/z`)).status).toBe(404);
  });

  test("the OpenAPI document lists every roles route of both kinds", async () => {
    const paths = Object.keys((await request(svc.url, "GET", "/openapi/json")).json.paths);
    for (const [plural, id] of [
      ["clients", "clientID"],
      ["channels", "channelID"],
    ]) {
      const base = `/{domainID}/${plural}/{${id}}/roles`;
      for (const p of [
        `/{domainID}/${plural}/roles/available-actions`,
        base,
        `${base}/members`,
        `${base}/{roleID}`,
        `${base}/{roleID}/actions`,
        `${base}/{roleID}/actions/delete`,
        `${base}/{roleID}/actions/delete-all`,
        `${base}/{roleID}/members`,
        `${base}/{roleID}/members/delete`,
        `${base}/{roleID}/members/delete-all`,
      ])
        expect(paths).toContain(p);
    }
  });
});
