import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request, startTestService, type TestService } from "./helpers/service.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_INSTANCE_ID: "gw-test-1" });
});
afterAll(() => svc.dispose());

describe("health, metrics, request ids, logs", () => {
  test("GET /health answers application/health+json without auth", async () => {
    const r = await request(svc.url, "GET", "/health");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/health+json");
    expect(r.json).toMatchObject({
      status: "pass",
      version: expect.any(String),
      commit: expect.any(String),
      description: "clients service",
      build_time: expect.any(String),
      instance_id: "gw-test-1",
    });
  });

  test("every response carries a fresh X-Request-ID, errors and 404s included", async () => {
    const responses = [
      await request(svc.url, "GET", "/health"),
      await request(svc.url, "GET", "/d/clients"),
      await svc.api("GET", "/d/clients/nope"),
      await svc.api("GET", "/nowhere"),
      await svc.api("PUT", "/d/clients"),
      await svc.api("POST", "/d/clients", "{}", { "content-type": "text/plain" }),
    ];
    const ids = responses.map((r) => r.headers.get("x-request-id"));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("a client-sent X-Request-ID is not echoed (the contract generates one per request)", async () => {
    const r = await svc.api("GET", "/d/clients", undefined, { "x-request-id": "mine" });
    expect(r.headers.get("x-request-id")).not.toBe("mine");
  });

  test("one structured log line per request, with the route template and request id", async () => {
    const r = await svc.api("GET", "/logdom/clients/abc");
    const id = r.headers.get("x-request-id")!;
    await Bun.sleep(20);
    const lines = svc.logs.filter((l) => l.includes(id)).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      msg: "http request",
      method: "GET",
      route: "/:domainID/clients/:clientID",
      path: "/logdom/clients/abc",
      status: 404,
      request_id: id,
    });
    expect(typeof lines[0].duration_ms).toBe("number");
  });

  test("exactly one log line also for answers given before routing (401, HEAD) and for unknown paths", async () => {
    const ids = [
      (await request(svc.url, "GET", "/one/clients")).headers.get("x-request-id")!,
      (await request(svc.url, "HEAD", "/health")).headers.get("x-request-id")!,
      (await svc.api("GET", "/nowhere/at/all")).headers.get("x-request-id")!,
      (await svc.api("PUT", "/one/clients")).headers.get("x-request-id")!,
    ];
    await Bun.sleep(20);
    const lines = ids.map((id) => svc.logs.filter((l) => l.includes(id)).map((l) => JSON.parse(l)));
    expect(lines.map((l) => l.length)).toEqual([1, 1, 1, 1]);
    expect(lines.map((l) => [l[0].status, l[0].route])).toEqual([
      [401, "/:domainID/clients"],
      [405, "/health"],
      [404, "unmatched"],
      [405, "/:domainID/clients"],
    ]);
  });

  test("GET /metrics exposes request counts and latency by route and status", async () => {
    await svc.api("GET", "/m/clients");
    await svc.api("GET", "/m/clients?limit=0");
    const r = await request(svc.url, "GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain");
    expect(r.text).toMatch(/http_requests_total\{method="GET",route="\/:domainID\/clients",status="200"\} \d+/);
    expect(r.text).toMatch(/http_requests_total\{method="GET",route="\/:domainID\/clients",status="400"\} \d+/);
    expect(r.text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/:domainID\/clients",status="200"\} \d+/);
    expect(r.text).toMatch(/process_resident_memory_bytes \d+/);
    expect(r.text).not.toMatch(/\bNan\b/);
  });

  test("the OpenAPI document describes the clients routes", async () => {
    const r = await request(svc.url, "GET", "/openapi/json");
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    const paths = Object.keys(r.json.paths);
    for (const p of [
      "/{domainID}/clients",
      "/{domainID}/clients/bulk",
      "/{domainID}/clients/{clientID}",
      "/{domainID}/clients/{clientID}/secret",
      "/{domainID}/channels",
      "/{domainID}/channels/bulk",
      "/{domainID}/channels/{channelID}",
      "/{domainID}/channels/connect",
      "/{domainID}/channels/disconnect",
      "/{domainID}/channels/{channelID}/connect",
      "/{domainID}/channels/{channelID}/disconnect",
      "/health",
    ]) {
      expect(paths).toContain(p);
    }
    const create = r.json.paths["/{domainID}/clients"].post;
    expect(JSON.stringify(create.requestBody)).toContain("private_metadata");
    const ui = await request(svc.url, "GET", "/openapi");
    expect(ui.status).toBe(200);
  });

  test("a second instance cannot take a port that is in use", async () => {
    const port = new URL(svc.url).port;
    await expect(startTestService({ MG_CLIENTS_HTTP_PORT: port })).rejects.toThrow();
  });
});
