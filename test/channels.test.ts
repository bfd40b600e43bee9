import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request, startTestService, type TestService } from "./helpers/service.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

const MALFORMED = "request body is not a valid JSON, expecting a valid JSON";
const expectError = (r: { status: number; json: any }, status: number, message: string) =>
  expect({ status: r.status, body: r.json }).toEqual({ status, body: { message } });
const newChannel = async (body: unknown = {}, domain = "chdom") => {
  const r = await svc.api("POST", `/${domain}/channels`, body);
  expect(r.status).toBe(201);
  return r.json;
};

describe("channels: the happy path", () => {
  test("create answers 201, Location and the channel, omitting empty fields", async () => {
    const r = await svc.api("POST", "/chdom/channels", {
      name: "temps",
      tags: ["t"],
      metadata: { unit: "C" },
      route: "temps",
      parent_group_id: "g1",
      domain_id: "ignored",
    });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/channels/${r.json.id}`);
    expect(r.json).toMatchObject({
      name: "temps",
      tags: ["t"],
      metadata: { unit: "C" },
      route: "temps",
      parent_group_id: "g1",
      domain_id: "chdom",
      status: "enabled",
      updated_at: "0001-01-01T00:00:00Z",
    });
    expect(r.json.id).toMatch(/^[0-9a-f-]{36}$/);
    const bare = await newChannel();
    expect(Object.keys(bare).sort()).toEqual(["created_at", "domain_id", "id", "status", "updated_at"]);
    expect("private_metadata" in r.json).toBe(false);
  });

  test("a caller-chosen id a header cannot carry (newline, space, é): 201 with a percent-encoded Location, no 500", async () => {
    for (const id of ["line\nbreak", "a b", "é-temps", "cr\rlf"]) {
      const r = await svc.api("POST", "/chdom/channels", { id });
      expect({ id, status: r.status }).toEqual({ id, status: 201 });
      expect(r.json.id).toBe(id);
      expect(r.headers.get("location")).toBe(`/channels/${encodeURIComponent(id)}`);
      expect((await svc.api("GET", `/chdom${r.headers.get("location")}`)).json.id).toBe(id);
    }
  });

  test("a caller-chosen id may be any non-blank string up to 36 characters", async () => {
    for (const id of ["my-channel", "room 12/temp", "x".repeat(36), "ABC"]) {
      const r = await svc.api("POST", "/chdom/channels", { id });
      expect(r.status).toBe(201);
      expect(r.json.id).toBe(id);
    }
  });

  test("bulk create answers 200 with total and channels; all or nothing", async () => {
    const r = await svc.api("POST", "/chdom/channels/bulk", [{ name: "b1", route: "bulk_one" }, { name: "b2" }]);
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(2);
    expect(r.json.channels.map((c: any) => c.name)).toEqual(["b1", "b2"]);
    const before = (await svc.api("GET", "/chdom/channels?status=all&only_total=true")).json.total;
    expectError(await svc.api("POST", "/chdom/channels/bulk", [{ name: "ok" }, { route: "bulk_one" }]), 400, "route not available");
    expectError(await svc.api("POST", "/chdom/channels/bulk", [{ route: "twice" }, { route: "twice" }]), 400, "route not available");
    expectError(await svc.api("POST", "/chdom/channels/bulk", [{ id: "dup-id" }, { id: "dup-id" }]), 400, "channel id already exists");
    expectError(await svc.api("POST", "/chdom/channels/bulk", [{ name: "ok" }, { status: "" }]), 400, "invalid status");
    expect((await svc.api("GET", "/chdom/channels?status=all&only_total=true")).json.total).toBe(before);
    expectError(await svc.api("POST", "/chdom/channels/bulk", []), 400, "empty list provided");
  });

  test("view, update, tags, enable, disable, parent, delete", async () => {
    const c = await newChannel({ name: "old", metadata: { a: 1 }, route: "lifecycle" });
    expect((await svc.api("GET", `/chdom/channels/${c.id}`)).json).toMatchObject({ id: c.id, name: "old", route: "lifecycle" });
    const up = await svc.api("PATCH", `/chdom/channels/${c.id}`, { name: "new", metadata: { b: 2 }, route: "ignored_route" });
    expect(up.status).toBe(200);
    expect(up.json).toMatchObject({ name: "new", metadata: { b: 2 }, route: "lifecycle" });
    expect(up.json.updated_by).toBeString();
    expect((await svc.api("PATCH", `/chdom/channels/${c.id}/tags`, { tags: ["x"] })).json.tags).toEqual(["x"]);
    expect((await svc.api("POST", `/chdom/channels/${c.id}/disable`)).json.status).toBe("disabled");
    expectError(await svc.api("POST", `/chdom/channels/${c.id}/disable`), 422, "status already assigned");
    expectError(await svc.api("PATCH", `/chdom/channels/${c.id}`, { name: "x" }), 404, "entity not found");
    expectError(await svc.api("PATCH", `/chdom/channels/${c.id}/tags`, { tags: [] }), 404, "entity not found");
    expect((await svc.api("POST", `/chdom/channels/${c.id}/enable`)).json.status).toBe("enabled");
    expectError(await svc.api("POST", `/chdom/channels/${c.id}/enable`), 422, "status already assigned");
    const p = await svc.api("POST", `/chdom/channels/${c.id}/parent`, { parent_group_id: "g" });
    expect({ status: p.status, text: p.text }).toEqual({ status: 200, text: "" });
    expectError(await svc.api("POST", `/chdom/channels/${c.id}/parent`, { parent_group_id: "g" }), 400, "entity already exists");
    expectError(await svc.api("POST", `/chdom/channels/${c.id}/parent`, { parent_group_id: "h" }), 400, "entity already exists");
    expectError(await svc.api("POST", `/chdom/channels/${c.id}/parent`, {}), 400, "missing parent group id");
    expect((await svc.api("DELETE", `/chdom/channels/${c.id}/parent`)).status).toBe(204);
    expect((await svc.api("DELETE", `/chdom/channels/${c.id}/parent`)).status).toBe(204);
    expect((await svc.api("DELETE", `/chdom/channels/${c.id}`)).status).toBe(204);
    expectError(await svc.api("GET", `/chdom/channels/${c.id}`), 404, "entity not found");
    // the route is free again once its channel is gone
    expect((await svc.api("POST", "/chdom/channels", { route: "lifecycle" })).status).toBe(201);
  });
});

describe("channels: routes", () => {
  test("route format", async () => {
    for (const route of ["1a", "a__b", "a--b", "_a", "-a", "a b", "a.b", "é", crypto.randomUUID(), "a".repeat(37)]) {
      expectError(await svc.api("POST", "/chdom/channels", { route }), 400, "invalid route format");
    }
    for (const route of ["a", "A1", "a_b-c", "a".repeat(36), "Zz_9-x"]) {
      expect((await svc.api("POST", "/routes1/channels", { route })).status).toBe(201);
    }
  });

  test("unique per domain, free in another domain", async () => {
    await newChannel({ route: "shared_route" }, "rdomA");
    expectError(await svc.api("POST", "/rdomA/channels", { route: "shared_route" }), 400, "route not available");
    expect((await svc.api("POST", "/rdomB/channels", { route: "shared_route" })).status).toBe(201);
  });
});

describe("channels: errors", () => {
  test("401, 415, 400 malformed", async () => {
    expectError(await request(svc.url, "GET", "/chdom/channels"), 401, "missing or invalid bearer user token");
    expectError(
      await request(svc.url, "POST", "/chdom/channels/connect", "{}", { authorization: "Bearer nope" }),
      401,
      "failed to perform authentication over the entity",
    );
    expectError(await svc.api("POST", "/chdom/channels", "{}", { "content-type": "text/plain" }), 415, "unsupported content type");
    for (const body of ["", "{", '{"name":1}', '{"route":5}', '{"metadata":[]}', '{"tags":"a"}'])
      expectError(await svc.api("POST", "/chdom/channels", body), 400, MALFORMED);
  });

  test("status: absent is enabled, an explicit empty string is invalid", async () => {
    for (const status of ["", "deleted", "all", "nope", 2]) expectError(await svc.api("POST", "/chdom/channels", { status }), 400, "invalid status");
    expect((await newChannel({ status: "disabled" })).status).toBe("disabled");
  });

  test("ids: blank, too long, taken (ids are global)", async () => {
    expectError(await svc.api("POST", "/chdom/channels", { id: "   " }), 400, "missing channel id");
    expectError(await svc.api("POST", "/chdom/channels", { id: "x".repeat(37) }), 422, "failed to create entity");
    await newChannel({ id: "taken-id" });
    expectError(await svc.api("POST", "/chdom/channels", { id: "taken-id" }), 400, "channel id already exists");
    expectError(await svc.api("POST", "/otherdom/channels", { id: "taken-id" }), 400, "channel id already exists");
  });

  test("validation order: status, then name size, then id, then route", async () => {
    expectError(await svc.api("POST", "/chdom/channels", { status: "x", name: "n".repeat(2000) }), 400, "invalid status");
    expectError(await svc.api("POST", "/chdom/channels", { name: "n".repeat(1025), id: " ", route: "1" }), 400, "invalid name size");
    expectError(await svc.api("POST", "/chdom/channels", { id: " ", route: "1" }), 400, "missing channel id");
  });

  test("a channel of domain A is 404 through domain B", async () => {
    const c = await newChannel({}, "chA");
    for (const [m, p, b] of [
      ["GET", ""],
      ["PATCH", "", { name: "x" }],
      ["PATCH", "/tags", { tags: [] }],
      ["POST", "/disable"],
      ["POST", "/parent", { parent_group_id: "g" }],
      ["DELETE", "/parent"],
      ["DELETE", ""],
    ] as [string, string, unknown?][]) {
      expectError(await svc.api(m, `/chB/channels/${c.id}${p}`, b), 404, "entity not found");
    }
  });

  test("list: status= is invalid for channels; connection_type must be publish or subscribe", async () => {
    expectError(await svc.api("GET", "/chdom/channels?status="), 400, "invalid status");
    expectError(await svc.api("GET", "/chdom/channels?client=x&connection_type=read"), 400, "something went wrong with the request");
    expectError(await svc.api("GET", "/chdom/clients?channel=x&connection_type=read"), 400, "something went wrong with the request");
    expectError(await svc.api("GET", "/chdom/channels?limit=101"), 400, "invalid limit size");
    expectError(await svc.api("GET", "/chdom/channels?client=a&client=b"), 400, "invalid query parameters");
  });

  test("list filters work on channels as on clients", async () => {
    await svc.api("POST", "/chlist/channels/bulk", [
      { name: "alpha", tags: ["a"], metadata: { k: 1 } },
      { name: "beta", tags: ["b"], parent_group_id: "pg" },
      { name: "gamma", status: "disabled" },
    ]);
    const names = async (q: string) => ((await svc.api("GET", `/chlist/channels?${q}`)).json.channels ?? []).map((c: any) => c.name);
    expect(await names("order=name&dir=asc")).toEqual(["alpha", "beta"]);
    expect(await names("status=all&order=name&dir=desc")).toEqual(["gamma", "beta", "alpha"]);
    expect(await names("tags=b")).toEqual(["beta"]);
    expect(await names(`metadata=${encodeURIComponent('{"k":1}')}`)).toEqual(["alpha"]);
    expect(await names("name=ALP")).toEqual(["alpha"]);
    expect(await names("group=pg")).toEqual(["beta"]);
    expect((await svc.api("GET", "/chlist/channels?only_total=true")).json).toEqual({ limit: 10, total: 2 });
  });
});
