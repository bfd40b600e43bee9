import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestService, type TestService } from "./helpers/service.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const ZERO = "0001-01-01T00:00:00Z";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

describe("clients: the happy path of every endpoint", () => {
  test("create returns 201, Location, the secret once, and omits empty fields", async () => {
    const r = await svc.api("POST", "/dom1/clients", {
      name: "thermo",
      tags: ["lab", "t"],
      credentials: { identity: "thermo-1", secret: "s-create-1" },
      metadata: { floor: 2 },
      private_metadata: { serial: "X1" },
      domain_id: "ignored",
      unknown_field: true,
    });
    expect(r.status).toBe(201);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("location")).toBe(`/clients/${r.json.id}`);
    expect(r.text.endsWith("}\n")).toBe(true);
    expect(r.json).toMatchObject({
      name: "thermo",
      tags: ["lab", "t"],
      domain_id: "dom1",
      credentials: { identity: "thermo-1", secret: "s-create-1" },
      metadata: { floor: 2 },
      private_metadata: { serial: "X1" },
      updated_at: ZERO,
      status: "enabled",
    });
    expect(r.json.id).toMatch(UUID);
    expect(r.json.created_at).toMatch(TIME);
    expect("updated_by" in r.json).toBe(false);
    expect("parent_group_id" in r.json).toBe(false);
  });

  test("an empty or null body creates a default client with a generated UUID secret", async () => {
    for (const body of ["{}", "null"]) {
      const r = await svc.api("POST", "/dom1/clients", body);
      expect(r.status).toBe(201);
      expect(Object.keys(r.json).sort()).toEqual(["created_at", "credentials", "domain_id", "id", "status", "updated_at"]);
      expect(r.json.credentials.secret).toMatch(UUID);
    }
  });

  test("create with a caller-chosen id, disabled status and parent", async () => {
    const id = crypto.randomUUID();
    const r = await svc.api("POST", "/dom1/clients", { id, status: "disabled", parent_group_id: "grp-1" });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ id, status: "disabled", parent_group_id: "grp-1" });
  });

  test("a body with trailing bytes after the first JSON value is accepted", async () => {
    const r = await svc.api("POST", "/dom1/clients", '{"name":"trail"} and more');
    expect(r.status).toBe(201);
    expect(r.json.name).toBe("trail");
  });

  test("Content-Type only has to contain application/json", async () => {
    const r = await svc.api("POST", "/dom1/clients", "{}", { "content-type": "application/json; charset=utf-8" });
    expect(r.status).toBe(201);
  });

  test("bulk create returns 200 with total and every client's secret", async () => {
    const r = await svc.api("POST", "/dom1/clients/bulk", [{ name: "b1" }, { name: "b2", credentials: { secret: "bulk-s2" } }]);
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(2);
    expect(r.json.clients.map((c: any) => c.name)).toEqual(["b1", "b2"]);
    expect(r.json.clients[1].credentials.secret).toBe("bulk-s2");
    expect(r.json.clients[0].credentials.secret).toMatch(UUID);
  });

  test("view shows the client without its secret, any status", async () => {
    const c = (await svc.api("POST", "/dom1/clients", { name: "v", credentials: { identity: "vid", secret: "view-s" }, private_metadata: { p: 1 } })).json;
    await svc.api("POST", `/dom1/clients/${c.id}/disable`);
    const r = await svc.api("GET", `/dom1/clients/${c.id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: c.id, name: "v", credentials: { identity: "vid" }, private_metadata: { p: 1 }, status: "disabled" });
    expect(r.json.credentials.secret).toBeUndefined();
  });

  test("update changes name and metadata, sets updated_at/updated_by, ignores tags", async () => {
    const c = (await svc.api("POST", "/dom1/clients", { name: "old", tags: ["keep"], metadata: { a: 1 }, private_metadata: { b: 2 } })).json;
    const r = await svc.api("PATCH", `/dom1/clients/${c.id}`, { name: "new", metadata: { a: 2 }, tags: ["ignored"] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: "new", tags: ["keep"], metadata: { a: 2 }, private_metadata: { b: 2 } });
    expect(r.json.updated_at).not.toBe(ZERO);
    expect(r.json.updated_by).toBeString();
    expect(r.json.credentials.secret).toBeUndefined();
    // empty name keeps the name; {} clears metadata; null leaves private_metadata
    const r2 = await svc.api("PATCH", `/dom1/clients/${c.id}`, { name: "", metadata: {}, private_metadata: null });
    expect(r2.json.name).toBe("new");
    expect(r2.json.metadata).toBeUndefined();
    expect(r2.json.private_metadata).toEqual({ b: 2 });
  });

  test("tags replace, and absent tags clear them", async () => {
    const c = (await svc.api("POST", "/dom1/clients", { tags: ["a"] })).json;
    const r = await svc.api("PATCH", `/dom1/clients/${c.id}/tags`, { tags: ["x", "y"] });
    expect(r.status).toBe(200);
    expect(r.json.tags).toEqual(["x", "y"]);
    const r2 = await svc.api("PATCH", `/dom1/clients/${c.id}/tags`, {});
    expect(r2.json.tags).toBeUndefined();
  });

  test("secret change answers 200 without the new secret", async () => {
    const c = (await svc.api("POST", "/dom1/clients", {})).json;
    const r = await svc.api("PATCH", `/dom1/clients/${c.id}/secret`, { secret: "brand-new-secret" });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain("brand-new-secret");
    expect(r.json.credentials).toEqual({});
  });

  test("enable and disable flip the status and answer the client", async () => {
    const c = (await svc.api("POST", "/dom1/clients", {})).json;
    const d = await svc.api("POST", `/dom1/clients/${c.id}/disable`);
    expect(d.status).toBe(200);
    expect(d.json.status).toBe("disabled");
    expect(d.json.updated_by).toBeString();
    const e = await svc.api("POST", `/dom1/clients/${c.id}/enable`);
    expect(e.status).toBe(200);
    expect(e.json.status).toBe("enabled");
  });

  test("set parent answers 200 with an empty body; remove parent 204, also when none is set", async () => {
    const c = (await svc.api("POST", "/dom1/clients", {})).json;
    const s = await svc.api("POST", `/dom1/clients/${c.id}/parent`, { parent_group_id: "g-1" });
    expect(s.status).toBe(200);
    expect(s.text).toBe("");
    expect((await svc.api("GET", `/dom1/clients/${c.id}`)).json.parent_group_id).toBe("g-1");
    const d = await svc.api("DELETE", `/dom1/clients/${c.id}/parent`);
    expect(d.status).toBe(204);
    expect((await svc.api("GET", `/dom1/clients/${c.id}`)).json.parent_group_id).toBeUndefined();
    expect((await svc.api("DELETE", `/dom1/clients/${c.id}/parent`)).status).toBe(204);
  });

  test("delete answers 204 and the client is gone", async () => {
    const c = (await svc.api("POST", "/dom1/clients", {})).json;
    const r = await svc.api("DELETE", `/dom1/clients/${c.id}`);
    expect(r.status).toBe(204);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect((await svc.api("GET", `/dom1/clients/${c.id}`)).status).toBe(404);
  });

  test("trailing slashes route the same", async () => {
    const r = await svc.api("POST", "/dom1/clients/", {});
    expect(r.status).toBe(201);
    expect((await svc.api("GET", `/dom1/clients/${r.json.id}/`)).status).toBe(200);
  });
});
