import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { eventually, TestBroker } from "./helpers/broker.ts";
import { type ApiResponse, request, startTestService, type TestService } from "./helpers/service.ts";

/** Channel and connection events (contract events.md §3) through the real publisher to a real broker. */

const USER = "0d6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const SESSION = ["operation", "domain", "user_id", "token_type", "super_admin", "request_id", "occurred_at"];
const keys = (...k: string[]) => [...SESSION, ...k].sort();
const CREATE = ["id", "roles_provisioned", "route", "status", "created_at", "metadata"];
const UPDATE = ["updated_at", "updated_by", "id", "status", "metadata", "created_at"];
const STATUS = ["id", "status", "updated_at", "updated_by"];

let broker: TestBroker;
let svc: TestService;
beforeAll(async () => {
  broker = await TestBroker.start();
  svc = await startTestService({ MG_CLIENTS_ES_URL: broker.url, MG_CLIENTS_STANDALONE_ID: USER, MG_CLIENTS_STANDALONE_TOKEN: "tok-ch-events" });
  await eventually(async () => (await request(svc.url, "GET", "/health")).json.event_broker === "connected", 10_000, "the broker connection");
});
afterAll(async () => {
  await svc.dispose();
  await broker.stop();
});

describe("channel events on MQTT", () => {
  test("every channel and connection operation publishes its topic with the contract's keys; reads publish nothing", async () => {
    const D = `chev-${randomUUID()}`;
    const expected: { op: string; topic: string; rid: string; keys: string[]; values: Record<string, unknown> }[] = [];
    const call = async (method: string, path: string, status: number, body?: unknown) => {
      const r = await svc.api(method, `/${D}${path}`, body);
      expect(r.status).toBe(status);
      return r;
    };
    const want = (r: ApiResponse, op: string, k: string[], values: Record<string, unknown> = {}) =>
      expected.push({ op, topic: `events/magistrala/${op.replace(".", "/")}`, rid: r.headers.get("x-request-id")!, keys: keys(...k), values });

    const client = (await call("POST", "/clients", 201, {})).json.id as string;

    const full = await call("POST", "/channels", 201, { name: "temps", tags: ["t"], route: "temps", metadata: { u: "C" } });
    const id = full.json.id as string;
    want(full, "channel.create", [...CREATE, "name", "tags"], {
      id,
      route: "temps",
      name: "temps",
      tags: ["t"],
      metadata: { u: "C" },
      status: "enabled",
      roles_provisioned: [expect.objectContaining({ name: "admin", entity_id: id, optional_members: [USER] })],
    });
    const bare = await call("POST", "/channels", 201, { id: "custom-ch" });
    want(bare, "channel.create", CREATE, { id: "custom-ch", route: "", metadata: {} });
    const bulk = await call("POST", "/channels/bulk", 200, [{ name: "b1" }, { name: "b2", status: "disabled" }]);
    for (const c of bulk.json.channels) want(bulk, "channel.create", [...CREATE, "name"], { id: c.id, status: c.status });

    await call("GET", `/channels/${id}`, 200);
    await call("GET", "/channels", 200);
    await call("GET", `/clients?channel=${id}`, 200);

    const upd = await call("PATCH", `/channels/${id}`, 200, { name: "temps-2" });
    want(upd, "channel.update", [...UPDATE, "route", "name", "tags"], { id, name: "temps-2", route: "temps", updated_by: USER });
    const tags = await call("PATCH", `/channels/${id}/tags`, 200, { tags: ["x"] });
    want(tags, "channel.update_tags", [...UPDATE, "route", "name", "tags"], { id, tags: ["x"] });
    const dis = await call("POST", `/channels/${id}/disable`, 200);
    want(dis, "channel.disable", STATUS, { id, status: "disabled" });
    const en = await call("POST", `/channels/${id}/enable`, 200);
    want(en, "channel.enable", STATUS, { id, status: "enabled" });
    const sp = await call("POST", `/channels/${id}/parent`, 200, { parent_group_id: "g1" });
    want(sp, "channel.set_parent", ["id", "parent_group_id"], { id, parent_group_id: "g1" });
    const rp = await call("DELETE", `/channels/${id}/parent`, 204);
    want(rp, "channel.remove_parent", ["id"], { id });
    await call("DELETE", `/channels/${id}/parent`, 204); // no-op: no event
    const con = await call("POST", "/channels/connect", 201, { channel_ids: [id, "custom-ch"], client_ids: [client], types: ["publish", "subscribe"] });
    want(con, "channel.connect", ["channel_ids", "client_ids", "types"], {
      channel_ids: [id, "custom-ch"],
      client_ids: [client],
      types: ["Publish", "Subscribe"],
    });
    await call("POST", "/channels/connect", 400, { channel_ids: [id], client_ids: [client], types: ["publish"] }); // exists: no event
    const dcon = await call("POST", `/channels/custom-ch/disconnect`, 204, { client_ids: [client], types: ["subscribe"] });
    want(dcon, "channel.disconnect", ["channel_ids", "client_ids", "types"], { channel_ids: ["custom-ch"], client_ids: [client], types: ["Subscribe"] });
    const rm = await call("DELETE", `/channels/${id}`, 204);
    // the cascade: one disconnect event per removed type, exactly what was removed
    want(rm, "channel.disconnect", ["channel_ids", "client_ids", "types"], { channel_ids: [id], client_ids: [client], types: ["Publish"] });
    want(rm, "channel.disconnect", ["channel_ids", "client_ids", "types"], { channel_ids: [id], client_ids: [client], types: ["Subscribe"] });
    want(rm, "channel.remove", ["id"], { id });

    const mine = () => broker.received.filter((m) => m.json?.domain === D && m.json.operation !== "client.create");
    await broker.waitUntil(() => mine().length >= expected.length, 10_000, `${expected.length} channel events`);
    await Bun.sleep(150);
    const got = mine();
    expect(got.map((m) => m.json.operation)).toEqual(expected.map((e) => e.op));
    for (const [i, m] of got.entries()) {
      const e = expected[i]!;
      expect(m.topic).toBe(e.topic);
      expect(Object.keys(m.json).sort()).toEqual(e.keys);
      expect(m.json).toMatchObject({ ...e.values, request_id: e.rid, domain: D, user_id: USER, super_admin: false, token_type: "access token" });
      expect(m.text).toMatch(/"occurred_at":\d{19}[,}]/);
    }
  });
});
