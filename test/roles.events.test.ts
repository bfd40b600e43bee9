import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { eventually, TestBroker } from "./helpers/broker.ts";
import { type ApiResponse, request, startTestService, type TestService } from "./helpers/service.ts";

/** Role events (contract events.md §4) and `roles_provisioned` (§2/§3), through the real publisher to a real broker. */

const USER = "8a7b6c5d-4e3f-4a1b-9c2d-3e4f5a6b7c8d";
const ROLE = ["id", "name", "entity_id", "created_by", "created_at", "updated_by", "updated_at"];
const PROVISION = [...ROLE, "optional_actions", "optional_members"];
/** Every role event carries these and nothing of the session. */
const keys = (...k: string[]) => ["operation", "request_id", "occurred_at", ...k].sort();

let broker: TestBroker;
let svc: TestService;
beforeAll(async () => {
  broker = await TestBroker.start();
  svc = await startTestService({ MG_CLIENTS_ES_URL: broker.url, MG_CLIENTS_STANDALONE_ID: USER, MG_CLIENTS_STANDALONE_TOKEN: "tok-role-events" });
  await eventually(async () => (await request(svc.url, "GET", "/health")).json.event_broker === "connected", 10_000, "the broker connection");
});
afterAll(async () => {
  await svc.dispose();
  await broker.stop();
});

describe.each(["client", "channel"] as const)("%s role events on MQTT", (kind) => {
  const plural = `${kind}s`;

  test("every role write publishes on the kind's roles topic with the contract's keys; reads and no-ops publish nothing", async () => {
    const D = `roleev-${randomUUID()}`;
    const entity = (await svc.api("POST", `/${D}/${plural}`, {})).json.id as string;
    const base = `/${D}/${plural}/${entity}/roles`;
    const expected: { op: string; rid: string; keys: string[]; values: Record<string, unknown> }[] = [];
    const call = async (method: string, path: string, status: number, body?: unknown) => {
      const r = await svc.api(method, base + path, body);
      expect(r.status).toBe(status);
      return r;
    };
    const want = (r: ApiResponse, suffix: string, k: string[], values: Record<string, unknown> = {}) =>
      expected.push({ op: `${kind}.${suffix}`, rid: r.headers.get("x-request-id")!, keys: keys(...k), values });

    const add = await call("POST", "", 201, { role_name: "ops", optional_actions: ["read"], optional_members: ["u-1"] });
    const role = add.json.id as string;
    want(add, "role.add", PROVISION, {
      id: role,
      name: "ops",
      entity_id: entity,
      created_by: USER,
      updated_by: "",
      updated_at: "0001-01-01T00:00:00Z",
      optional_actions: ["read"],
      optional_members: ["u-1"],
    });
    const bare = await call("POST", "", 201, { role_name: "bare" });
    want(bare, "role.add", PROVISION, { name: "bare", optional_actions: null, optional_members: null });
    await call("POST", "", 422, { role_name: "ops" }); // failed: no event

    // reads: no events (DESIGN decision 6)
    await svc.api("GET", `/${D}/${plural}/roles/available-actions`);
    await call("GET", "", 200);
    await call("GET", "/members", 200);
    await call("GET", `/${role}`, 200);
    await call("GET", `/${role}/actions`, 200);
    await call("GET", `/${role}/members`, 200);

    const upd = await call("PUT", `/${role}`, 200, { name: "ops-2" });
    want(upd, "role.update", ROLE, { id: role, name: "ops-2", entity_id: entity, created_by: USER, updated_by: USER });
    const aa = await call("POST", `/${role}/actions`, 200, { actions: ["update"] });
    want(aa, "role.actions.add", ["entity_id", "role_id", "actions"], { entity_id: entity, role_id: role, actions: ["update"] });
    const ar = await call("POST", `/${role}/actions/delete`, 204, { actions: ["update"] });
    want(ar, "role.actions.remove", ["entity_id", "role_id", "actions"], { entity_id: entity, role_id: role, actions: ["update"] });
    await call("POST", `/${role}/actions/delete`, 204, { actions: ["update"] }); // no-op: no event
    const ara = await call("POST", `/${role}/actions/delete-all`, 204);
    want(ara, "role.actions.remove_all", ["entity_id", "role_id"], { entity_id: entity, role_id: role });
    await call("POST", `/${role}/actions/delete-all`, 204); // nothing left: no event
    const ma = await call("POST", `/${role}/members`, 200, { members: ["u-2", "u-3"] });
    want(ma, "role.members.add", ["entity_id", "role_id", "members"], { entity_id: entity, role_id: role, members: ["u-2", "u-3"] });
    await call("POST", `/${role}/members`, 422, { members: ["u-3"] }); // failed: no event
    const mr = await call("POST", `/${role}/members/delete`, 204, { members: ["u-2"] });
    want(mr, "role.members.remove", ["entity_id", "role_id", "members"], { entity_id: entity, role_id: role, members: ["u-2"] });
    const mra = await call("POST", `/${role}/members/delete-all`, 204);
    want(mra, "role.members.remove_all", ["entity_id", "role_id"], { entity_id: entity, role_id: role });
    await call("POST", `/${role}/members/delete-all`, 204); // no-op
    const em = await call("POST", `/${bare.json.id}/members`, 200, { members: ["u-9"] });
    want(em, "role.members.add", ["entity_id", "role_id", "members"], { role_id: bare.json.id, members: ["u-9"] });
    const all = await call("DELETE", "", 204, { member_ids: ["u-9", "nobody"] });
    want(all, "members.remove", ["entity_id", "members"], { entity_id: entity, members: ["u-9", "nobody"] });
    await call("DELETE", "", 204, { member_ids: ["nobody"] }); // no-op
    const rm = await call("DELETE", `/${role}`, 204);
    want(rm, "role.remove", ["entity_id", "role_id"], { entity_id: entity, role_id: role });

    const topic = `events/magistrala/${kind}/roles`;
    const mine = () => broker.on(topic).filter((m) => expected.some((e) => e.rid === m.json?.request_id));
    await broker.waitUntil(() => mine().length >= expected.length, 10_000, `${expected.length} ${kind} role events`);
    await Bun.sleep(150);
    const got = mine();
    expect(got.map((m) => m.json.operation)).toEqual(expected.map((e) => e.op));
    for (const [i, m] of got.entries()) {
      const e = expected[i]!;
      expect(m.topic).toBe(topic);
      expect(Object.keys(m.json).sort()).toEqual(e.keys);
      expect(m.json).toMatchObject({ ...e.values, request_id: e.rid });
      expect(m.text).toMatch(/"occurred_at":\d{19}[,}]/);
    }
  });

  test("create and bulk create: roles_provisioned carries each entity's admin role, and no role.add is published", async () => {
    const D = `roleprov-${randomUUID()}`;
    const one = await svc.api("POST", `/${D}/${plural}`, { name: "one" });
    const bulk = await svc.api("POST", `/${D}/${plural}/bulk`, [{ name: "b1" }, { name: "b2" }]);
    const ids = [one.json.id, ...bulk.json[plural].map((e: any) => e.id)] as string[];
    const creates = () => broker.on(`events/magistrala/${kind}/create`).filter((m) => m.json?.domain === D);
    await broker.waitUntil(() => creates().length >= 3, 10_000, "3 create events");
    for (const id of ids) {
      const ev = creates().find((m) => m.json.id === id)!;
      const admin = (await svc.api("GET", `/${D}/${plural}/${id}/roles`)).json.roles[0];
      expect(ev.json.roles_provisioned).toHaveLength(1);
      const rp = ev.json.roles_provisioned[0];
      expect(Object.keys(rp).sort()).toEqual([...PROVISION].sort());
      expect(rp).toEqual({
        ...admin,
        optional_actions: (await svc.api("GET", `/${D}/${plural}/roles/available-actions`)).json.available_actions,
        optional_members: [USER],
      });
    }
    await Bun.sleep(150);
    expect(broker.on(`events/magistrala/${kind}/roles`).filter((m) => ids.includes(m.json?.entity_id))).toEqual([]);
  });
});
