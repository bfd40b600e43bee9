import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Ajv, { type ValidateFunction } from "ajv";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * The OpenAPI document: every route documents its responses (a success and the `{"message"}`
 * errors), operation ids are explicit and unique, the examples fit their schemas, and the real
 * answers of the service fit the documented schemas too.
 */

let svc: TestService;
let doc: any;
let ajv: Ajv;
beforeAll(async () => {
  svc = await startTestService();
  const r = await fetch(`${svc.url}/openapi/json`);
  expect(r.status).toBe(200);
  doc = await r.json();
  ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: "doc", components: doc.components }, "doc");
});
afterAll(() => svc.dispose());

type Op = { method: string; path: string; op: any };
const operations = (): Op[] =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, op })));

const validator = (schema: any): ValidateFunction => {
  if (schema.$ref) return ajv.getSchema(`doc${schema.$ref}`)!;
  return ajv.compile(schema);
};

/** The operationId Elysia would invent (postByDomainIDClients): a route that forgot its own. */
const generatedId = (method: string, path: string) =>
  method +
  path
    .split("/")
    .filter(Boolean)
    .map((s) => (s.startsWith("{") ? `By${s.slice(1, 2).toUpperCase()}${s.slice(2, -1)}` : s.charAt(0).toUpperCase() + s.slice(1)))
    .join("");

describe("the OpenAPI document", () => {
  test("lists every API route (none hidden but the UI's own)", () => {
    const paths = Object.keys(doc.paths);
    expect(paths).toContain("/{domainID}/clients");
    expect(paths).toContain("/{domainID}/channels/{channelID}/roles/{roleID}/members/delete-all");
    expect(paths).toContain("/health");
    expect(operations().length).toBeGreaterThanOrEqual(60);
    for (const p of paths) expect(p.startsWith("/openapi")).toBe(false);
  });

  test("every route documents a success and its {message} errors", () => {
    const missing: string[] = [];
    for (const { method, path, op } of operations()) {
      const statuses = Object.keys(op.responses ?? {});
      const label = `${method.toUpperCase()} ${path}`;
      if (!statuses.some((s) => /^2\d\d$/.test(s))) missing.push(`${label}: no success response`);
      for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
        if (!res.description) missing.push(`${label} ${status}: no description`);
        if (/^[45]/.test(status) && res.content?.["application/json"]?.schema?.$ref !== "#/components/schemas/Error")
          missing.push(`${label} ${status}: error body is not the Error schema`);
      }
      if (path.startsWith("/{domainID}/")) {
        for (const s of ["401", "500"]) if (!statuses.includes(s)) missing.push(`${label}: no ${s}`);
        if (op.requestBody && !statuses.includes("415")) missing.push(`${label}: takes a body but documents no 415`);
        // Every write can meet the body limit and a full disk, whatever its route.
        if (method !== "get") for (const s of ["413", "503"]) if (!statuses.includes(s)) missing.push(`${label}: a write without ${s}`);
        if (/\{(client|channel|role)ID\}/.test(path) && !statuses.includes("404")) missing.push(`${label}: no 404`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("operation ids are explicit, unique and stable", () => {
    const ids = operations().map(({ op }) => op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, op } of operations()) {
      expect(op.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.operationId).not.toBe(generatedId(method, path));
    }
    // Ones that generated clients depend on.
    const byRoute = Object.fromEntries(operations().map(({ method, path, op }) => [`${method} ${path}`, op.operationId]));
    expect(byRoute["post /{domainID}/clients"]).toBe("createClient");
    expect(byRoute["get /{domainID}/clients/{clientID}"]).toBe("viewClient");
    expect(byRoute["post /{domainID}/channels/{channelID}/connect"]).toBe("connectClientsToChannel");
    expect(byRoute["post /{domainID}/channels/{channelID}/roles/{roleID}/actions"]).toBe("addChannelRoleActions");
  });

  test("every example fits its schema", () => {
    const bad: string[] = [];
    let checked = 0;
    for (const { method, path, op } of operations())
      for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
        const media = res.content?.["application/json"];
        if (!media) continue;
        expect(media.example).toBeDefined();
        const check = validator(media.schema);
        checked++;
        if (!check(media.example)) bad.push(`${method} ${path} ${status}: ${ajv.errorsText(check.errors)}`);
      }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });

  test("every request body has a realistic example that fits its schema", () => {
    const bad: string[] = [];
    for (const { method, path, op } of operations()) {
      const schema = op.requestBody?.content?.["application/json"]?.schema;
      if (!schema) continue;
      // The body schema is `X | null` or `X`; the example sits on X.
      const example = (schema.anyOf ?? [schema]).flatMap((s: any) => s.examples ?? [])[0];
      if (example === undefined) {
        bad.push(`${method} ${path}: no example`);
        continue;
      }
      const check = ajv.compile(schema);
      if (!check(example)) bad.push(`${method} ${path}: ${ajv.errorsText(check.errors)}`);
      if (JSON.stringify(example).includes('"string"')) bad.push(`${method} ${path}: placeholder example`);
    }
    expect(bad).toEqual([]);
  });
});

describe("real answers fit the documented schemas", () => {
  const opOf = (method: string, path: string) => doc.paths[path][method];
  async function call(method: string, docPath: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const r = await svc.api(method.toUpperCase(), path, body, headers);
    const res = opOf(method, docPath).responses[String(r.status)];
    expect(res).toBeDefined(); // the status itself is documented
    const schema = res.content?.["application/json"]?.schema;
    if (schema) {
      const check = validator(schema);
      if (!check(r.json)) throw new Error(`${method} ${path} ${r.status}: ${ajv.errorsText(check.errors)}\n${r.text}`);
    } else expect(r.text).toBe("");
    return r;
  }

  test("clients, channels, connections and roles", async () => {
    const d = "doc-dom";
    const c = await call("post", "/{domainID}/clients", `/${d}/clients`, {
      name: "thermo",
      tags: ["lab"],
      credentials: { identity: "t-1", secret: "s-doc-1" },
      metadata: { room: "a1" },
    });
    expect(c.status).toBe(201);
    const id = c.json.id;
    expect((await call("post", "/{domainID}/clients/bulk", `/${d}/clients/bulk`, [{ name: "a" }, { name: "b" }])).status).toBe(200);
    expect((await call("get", "/{domainID}/clients", `/${d}/clients?limit=5`)).json.total).toBe(3);
    await call("get", "/{domainID}/clients/{clientID}", `/${d}/clients/${id}`);
    await call("patch", "/{domainID}/clients/{clientID}", `/${d}/clients/${id}`, { name: "thermo-2" });
    await call("patch", "/{domainID}/clients/{clientID}/tags", `/${d}/clients/${id}/tags`, { tags: ["x"] });
    const ch = await call("post", "/{domainID}/channels", `/${d}/channels`, { name: "lab", route: "lab-1" });
    await call("post", "/{domainID}/channels/{channelID}/connect", `/${d}/channels/${ch.json.id}/connect`, { client_ids: [id], types: ["publish"] });
    const listed = await call("get", "/{domainID}/channels", `/${d}/channels?client=${id}`);
    expect(listed.json.channels[0].connection_types).toEqual(["Publish"]);
    await call("get", "/{domainID}/clients", `/${d}/clients?channel=${ch.json.id}`);
    const role = await call("post", "/{domainID}/clients/{clientID}/roles", `/${d}/clients/${id}/roles`, { role_name: "ops", optional_actions: ["read"] });
    expect(role.status).toBe(201);
    await call("get", "/{domainID}/clients/{clientID}/roles", `/${d}/clients/${id}/roles`);
    await call("get", "/{domainID}/clients/{clientID}/roles/members", `/${d}/clients/${id}/roles/members`);
    await call("post", "/{domainID}/clients/{clientID}/disable", `/${d}/clients/${id}/disable`);
    expect((await call("post", "/{domainID}/clients/{clientID}/disable", `/${d}/clients/${id}/disable`)).status).toBe(422);
    expect((await call("get", "/{domainID}/clients/{clientID}", `/${d}/clients/not-there`)).status).toBe(404);
    expect((await call("get", "/{domainID}/clients", `/${d}/clients`, undefined, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await call("post", "/{domainID}/clients", `/${d}/clients`, "x", { "content-type": "text/plain" })).status).toBe(415);
    expect((await call("delete", "/{domainID}/channels/{channelID}", `/${d}/channels/${ch.json.id}`)).status).toBe(204);
    const health = await fetch(`${svc.url}/health`).then((r) => r.json());
    expect(validator(opOf("get", "/health").responses["200"].content["application/json"].schema)(health)).toBe(true);
  });
});

describe("the OpenAPI UI", () => {
  test("is served from the service itself, with a policy that allows no other origin", async () => {
    const page = await fetch(`${svc.url}/openapi`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith("/")).toBe(true);
      const r = await fetch(svc.url + ref);
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
  });
});
