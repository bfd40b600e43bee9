import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request, startTestService, type TestService } from "./helpers/service.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

const newClient = async (body: unknown = {}, domain = "dom1") => {
  const r = await svc.api("POST", `/${domain}/clients`, body);
  expect(r.status).toBe(201);
  return r.json;
};
const expectError = (r: { status: number; json: any; headers: Headers }, status: number, message: string) => {
  expect({ status: r.status, body: r.json }).toEqual({ status, body: { message } });
  expect(r.headers.get("content-type")).toBe("application/json");
};
const total = async (domain = "dom1") => (await svc.api("GET", `/${domain}/clients?status=all&only_total=true`)).json.total as number;

const MALFORMED = "request body is not a valid JSON, expecting a valid JSON";

describe("401: authentication runs first", () => {
  test("missing, garbled or empty bearer token", async () => {
    for (const authorization of [undefined, "Basic abc", "bearer abc", "Bearer ", "Bearer"]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const r = await request(svc.url, "GET", "/dom1/clients", undefined, headers);
      expectError(r, 401, "missing or invalid bearer user token");
    }
  });

  test("a wrong token", async () => {
    const r = await request(svc.url, "GET", "/dom1/clients", undefined, { authorization: "Bearer not-the-token" });
    expectError(r, 401, "failed to perform authentication over the entity");
  });

  test("every clients route refuses an anonymous caller, unknown sub-paths included", async () => {
    const routes: [string, string][] = [
      ["POST", "/d/clients"],
      ["POST", "/d/clients/bulk"],
      ["GET", "/d/clients"],
      ["GET", "/d/clients/x"],
      ["PATCH", "/d/clients/x"],
      ["PATCH", "/d/clients/x/tags"],
      ["PATCH", "/d/clients/x/secret"],
      ["POST", "/d/clients/x/enable"],
      ["POST", "/d/clients/x/disable"],
      ["POST", "/d/clients/x/parent"],
      ["DELETE", "/d/clients/x/parent"],
      ["DELETE", "/d/clients/x"],
      ["GET", "/d/clients/x/no/such/path"],
      ["PUT", "/d/clients"],
    ];
    for (const [method, path] of routes) {
      const r = await request(svc.url, method, path, method === "GET" || method === "DELETE" ? undefined : "{}");
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 401`);
    }
  });

  test("401 wins over 415 and 400", async () => {
    const r = await request(svc.url, "POST", "/dom1/clients", "garbage", { "content-type": "text/plain" });
    expectError(r, 401, "missing or invalid bearer user token");
  });
});

describe("415: body routes need a JSON content type", () => {
  test("missing or non-JSON Content-Type on every body route", async () => {
    const c = await newClient();
    const routes: [string, string][] = [
      ["POST", "/dom1/clients"],
      ["POST", "/dom1/clients/bulk"],
      ["PATCH", `/dom1/clients/${c.id}`],
      ["PATCH", `/dom1/clients/${c.id}/tags`],
      ["PATCH", `/dom1/clients/${c.id}/secret`],
      ["POST", `/dom1/clients/${c.id}/parent`],
    ];
    for (const [method, path] of routes) {
      for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
        const r = await svc.api(method, path, "{}", { "content-type": type });
        expectError(r, 415, "unsupported content type");
      }
      const res = await fetch(svc.url + path, { method, headers: { authorization: `Bearer ${svc.token}` } });
      expect(res.status).toBe(415);
    }
  });

  test("415 wins over 400", async () => {
    expectError(await svc.api("POST", "/dom1/clients", "garbage", { "content-type": "text/plain" }), 415, "unsupported content type");
  });

  test("enable, disable and deletes read no body and check no content type", async () => {
    const c = await newClient({ status: "disabled" });
    expect((await svc.api("POST", `/dom1/clients/${c.id}/enable`, "garbage", { "content-type": "text/plain" })).status).toBe(200);
    expect((await svc.api("POST", `/dom1/clients/${c.id}/disable`, "garbage", { "content-type": "text/plain" })).status).toBe(200);
    expect((await svc.api("DELETE", `/dom1/clients/${c.id}/parent`, "garbage", { "content-type": "text/plain" })).status).toBe(204);
  });
});

describe("400: bodies that do not decode", () => {
  test("empty body, syntax errors and wrong JSON types", async () => {
    const bodies = [
      "",
      "   ",
      "{",
      "nope",
      '{"name":1}',
      '{"tags":"a"}',
      '{"tags":[1]}',
      '{"metadata":[1]}',
      '{"metadata":"x"}',
      '{"private_metadata":5}',
      '{"credentials":"x"}',
      '{"credentials":{"secret":5}}',
      "[]",
      '"str"',
    ];
    for (const body of bodies) {
      const r = await svc.api("POST", "/dom1/clients", body);
      expect(`${body} -> ${r.status} ${r.json?.message}`).toBe(`${body} -> 400 ${MALFORMED}`);
    }
  });

  test("bulk needs an array", async () => {
    expectError(await svc.api("POST", "/dom1/clients/bulk", "{}"), 400, MALFORMED);
    expectError(await svc.api("POST", "/dom1/clients/bulk", '[{"name":1}]'), 400, MALFORMED);
  });

  test("update, tags, secret and parent bodies are type-checked", async () => {
    const c = await newClient();
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}`, { name: ["x"] }), 400, MALFORMED);
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}/tags`, { tags: "x" }), 400, MALFORMED);
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}/secret`, { secret: 1 }), 400, MALFORMED);
    expectError(await svc.api("POST", `/dom1/clients/${c.id}/parent`, { parent_group_id: {} }), 400, MALFORMED);
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}`, ""), 400, MALFORMED);
  });
});

describe("400: validation, with the contract's messages", () => {
  test("invalid status in a body", async () => {
    for (const status of ["deleted", "all", "foo", 1, "Enabled"]) {
      expectError(await svc.api("POST", "/dom1/clients", { status }), 400, "invalid status");
    }
  });

  test("invalid id format", async () => {
    for (const id of ["abc", crypto.randomUUID().toUpperCase(), `{${crypto.randomUUID()}}`, `urn:uuid:${crypto.randomUUID()}`]) {
      expectError(await svc.api("POST", "/dom1/clients", { id }), 400, "invalid id format provided");
    }
  });

  test("invalid name size on create, bulk and update", async () => {
    const long = "n".repeat(1025);
    expectError(await svc.api("POST", "/dom1/clients", { name: long }), 400, "invalid name size");
    expectError(await svc.api("POST", "/dom1/clients/bulk", [{ name: "ok" }, { name: long }]), 400, "invalid name size");
    const c = await newClient();
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}`, { name: long }), 400, "invalid name size");
    expect((await svc.api("POST", "/dom1/clients", { name: "n".repeat(1024) })).status).toBe(201);
  });

  test("empty bulk list", async () => {
    expectError(await svc.api("POST", "/dom1/clients/bulk", []), 400, "empty list provided");
    expectError(await svc.api("POST", "/dom1/clients/bulk", "null"), 400, "empty list provided");
  });

  test("missing secret and missing parent group id", async () => {
    const c = await newClient();
    for (const body of [{}, { secret: "" }, { secret: null }]) {
      expectError(await svc.api("PATCH", `/dom1/clients/${c.id}/secret`, body), 400, "missing secret");
    }
    for (const body of [{}, { parent_group_id: "" }]) {
      expectError(await svc.api("POST", `/dom1/clients/${c.id}/parent`, body), 400, "missing parent group id");
    }
  });

  test("order: decoding errors before validation, validation before lookups", async () => {
    // status is decoded with the body, so it wins over the name size
    expectError(await svc.api("POST", "/dom1/clients", { status: "x", name: "n".repeat(2000) }), 400, "invalid status");
    // a type error anywhere wins over everything else
    expectError(await svc.api("POST", "/dom1/clients", { status: "x", name: 5 }), 400, MALFORMED);
    // name size before id format
    expectError(await svc.api("POST", "/dom1/clients", { id: "bad", name: "n".repeat(2000) }), 400, "invalid name size");
    // validation before the entity lookup
    expectError(await svc.api("PATCH", `/dom1/clients/${crypto.randomUUID()}`, { name: "n".repeat(2000) }), 400, "invalid name size");
    expectError(await svc.api("PATCH", `/dom1/clients/${crypto.randomUUID()}/secret`, {}), 400, "missing secret");
  });
});

describe("400: conflicts are 400 with their messages", () => {
  test("a secret taken in the domain, on create, in bulk and on change", async () => {
    await newClient({ credentials: { secret: "taken-secret" } });
    expectError(await svc.api("POST", "/dom1/clients", { credentials: { secret: "taken-secret" } }), 400, "client key is not available");
    const other = await newClient();
    expectError(await svc.api("PATCH", `/dom1/clients/${other.id}/secret`, { secret: "taken-secret" }), 400, "client key is not available");
  });

  test("the same secret is fine in another domain", async () => {
    await newClient({ credentials: { secret: "shared-secret" } }, "domA");
    const r = await svc.api("POST", "/domB/clients", { credentials: { secret: "shared-secret" } });
    expect(r.status).toBe(201);
  });

  test("setting a client's secret to its current secret is allowed", async () => {
    const c = await newClient({ credentials: { secret: "same-again" } });
    expect((await svc.api("PATCH", `/dom1/clients/${c.id}/secret`, { secret: "same-again" })).status).toBe(200);
  });

  test("parent already set: same parent and other parent", async () => {
    const c = await newClient();
    expect((await svc.api("POST", `/dom1/clients/${c.id}/parent`, { parent_group_id: "g1" })).status).toBe(200);
    expectError(await svc.api("POST", `/dom1/clients/${c.id}/parent`, { parent_group_id: "g1" }), 400, "client already assigned to the parent group");
    expectError(await svc.api("POST", `/dom1/clients/${c.id}/parent`, { parent_group_id: "g2" }), 400, "client already have parent");
  });
});

describe("bulk create is all or nothing", () => {
  test("a taken secret in the second item creates nothing", async () => {
    await newClient({ credentials: { secret: "bulk-taken" } }, "bulkdom");
    const before = await total("bulkdom");
    const r = await svc.api("POST", "/bulkdom/clients/bulk", [{ name: "first" }, { credentials: { secret: "bulk-taken" } }]);
    expectError(r, 400, "client key is not available");
    expect(await total("bulkdom")).toBe(before);
  });

  test("two items with the same secret create nothing", async () => {
    const before = await total("bulkdom");
    const r = await svc.api("POST", "/bulkdom/clients/bulk", [{ credentials: { secret: "twice" } }, { credentials: { secret: "twice" } }]);
    expectError(r, 400, "client key is not available");
    expect(await total("bulkdom")).toBe(before);
  });

  test("a taken id in the last item creates nothing", async () => {
    const existing = await newClient({}, "bulkdom");
    const before = await total("bulkdom");
    const r = await svc.api("POST", "/bulkdom/clients/bulk", [{ name: "a" }, { name: "b" }, { id: existing.id }]);
    expectError(r, 422, "failed to create entity");
    expect(await total("bulkdom")).toBe(before);
  });

  test("an invalid item anywhere creates nothing", async () => {
    const before = await total("bulkdom");
    const r = await svc.api("POST", "/bulkdom/clients/bulk", [{ name: "a" }, { status: "bogus" }]);
    expectError(r, 400, "invalid status");
    expect(await total("bulkdom")).toBe(before);
  });
});

describe("404 entity not found", () => {
  test("every per-client route on an unknown id", async () => {
    const id = crypto.randomUUID();
    const routes: [string, string, unknown?][] = [
      ["GET", `/dom1/clients/${id}`],
      ["PATCH", `/dom1/clients/${id}`, { name: "x" }],
      ["PATCH", `/dom1/clients/${id}/tags`, { tags: ["a"] }],
      ["PATCH", `/dom1/clients/${id}/secret`, { secret: "x" }],
      ["POST", `/dom1/clients/${id}/enable`],
      ["POST", `/dom1/clients/${id}/disable`],
      ["POST", `/dom1/clients/${id}/parent`, { parent_group_id: "g" }],
      ["DELETE", `/dom1/clients/${id}/parent`],
      ["DELETE", `/dom1/clients/${id}`],
    ];
    for (const [method, path, body] of routes) expectError(await svc.api(method, path, body), 404, "entity not found");
  });

  test("a client of domain A through domain B's paths", async () => {
    const c = await newClient({ name: "a-only" }, "domainA");
    const routes: [string, string, unknown?][] = [
      ["GET", `/domainB/clients/${c.id}`],
      ["PATCH", `/domainB/clients/${c.id}`, { name: "x" }],
      ["PATCH", `/domainB/clients/${c.id}/tags`, { tags: ["a"] }],
      ["PATCH", `/domainB/clients/${c.id}/secret`, { secret: "x" }],
      ["POST", `/domainB/clients/${c.id}/disable`],
      ["POST", `/domainB/clients/${c.id}/parent`, { parent_group_id: "g" }],
      ["DELETE", `/domainB/clients/${c.id}/parent`],
      ["DELETE", `/domainB/clients/${c.id}`],
    ];
    for (const [method, path, body] of routes) expectError(await svc.api(method, path, body), 404, "entity not found");
    const list = await svc.api("GET", "/domainB/clients?status=all");
    expect(list.json.total).toBe(0);
    // still intact in A
    expect((await svc.api("GET", `/domainA/clients/${c.id}`)).json).toMatchObject({ name: "a-only", status: "enabled" });
  });

  test("update, tags and secret of a disabled client are 404", async () => {
    const c = await newClient({ status: "disabled" });
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}`, { name: "x" }), 404, "entity not found");
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}/tags`, { tags: ["x"] }), 404, "entity not found");
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}/secret`, { secret: "x" }), 404, "entity not found");
  });
});

describe("422", () => {
  test("status already assigned", async () => {
    const c = await newClient();
    expectError(await svc.api("POST", `/dom1/clients/${c.id}/enable`), 422, "status already assigned");
    await svc.api("POST", `/dom1/clients/${c.id}/disable`);
    expectError(await svc.api("POST", `/dom1/clients/${c.id}/disable`), 422, "status already assigned");
  });

  test("failed to create entity: a taken id, an identity or secret over the storage limits", async () => {
    const c = await newClient();
    expectError(await svc.api("POST", "/dom1/clients", { id: c.id }), 422, "failed to create entity");
    expectError(await svc.api("POST", "/dom1/clients", { credentials: { identity: "i".repeat(255) } }), 422, "failed to create entity");
    expectError(await svc.api("POST", "/dom1/clients", { credentials: { secret: "s".repeat(4097) } }), 422, "failed to create entity");
    expect((await svc.api("POST", "/dom1/clients", { credentials: { identity: "i".repeat(254), secret: "s".repeat(4096) } })).status).toBe(201);
  });

  test("update entity failed: a new secret over the storage limit", async () => {
    const c = await newClient();
    expectError(await svc.api("PATCH", `/dom1/clients/${c.id}/secret`, { secret: "s".repeat(4097) }), 422, "update entity failed");
  });
});

describe("routing", () => {
  test("an unknown path is a plain-text 404", async () => {
    const r = await svc.api("GET", "/dom1/nothing-here");
    expect(r.status).toBe(404);
    expect(r.text).toBe("404 page not found\n");
    const r2 = await svc.api("GET", "/dom1/clients/x/y/z");
    expect(r2.status).toBe(404);
  });

  test("a known path with a wrong method is 405 with an empty body", async () => {
    for (const [method, path] of [
      ["PUT", "/dom1/clients"],
      ["DELETE", "/dom1/clients"],
      ["GET", "/dom1/clients/bulk/x"],
      ["PUT", "/dom1/clients/abc/enable"],
      ["POST", "/health"],
      ["HEAD", "/health"],
    ] as const) {
      const r = await svc.api(method, path);
      expect(`${method} ${path} ${r.status} ${r.text}`).toBe(
        `${method} ${path} ${method === "GET" ? 404 : 405} ${method === "GET" ? "404 page not found\n" : ""}`,
      );
    }
  });
});
