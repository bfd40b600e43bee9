import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { type ConfigError, loadConfig } from "../src/config/config.ts";
import { queryStore } from "./helpers/backend.ts";
import { eventually } from "./helpers/broker.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/** `eventually`, for a check that answers what it found (or undefined meanwhile). */
const found = async <T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> => (await eventually(check, ms, what)) as T;

/**
 * The EMQX and VerneMQ sides of issue #16 as golden requests: the broker's management API is a
 * real HTTP server on a socket that records every request (and answers like the broker would);
 * the broker's presence notices are sent to the hooks listener the way the broker sends them.
 */

interface Seen {
  method: string;
  path: string;
  authorization: string | null;
}

/** A stand-in management API: records requests; `answer` decides the status and body. */
function fakeApi(answer: (r: Seen) => { status: number; body?: string }) {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url);
      const r = { method: req.method, path: u.pathname + u.search, authorization: req.headers.get("authorization") };
      seen.push(r);
      const a = answer(r);
      return new Response(a.body ?? "", { status: a.status, headers: { "content-type": "application/json" } });
    },
  });
  return { seen, port: server.port, stop: () => server.stop(true) };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const DOMAIN = randomUUID();

async function device(svc: TestService) {
  const r = await svc.api("POST", `/${DOMAIN}/clients`, { name: "dev" });
  expect(r.status).toBe(201);
  return { id: r.json.id as string, secret: r.json.credentials.secret as string };
}
const presence = async (svc: TestService, id: string) => (await svc.api("GET", `/${DOMAIN}/clients/${id}/presence`)).json;
const hook = (svc: TestService, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${svc.service.hooksUrl}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("EMQX 5: kicks by DELETE /api/v5/clients/{clientid}; presence from client.connected/disconnected", () => {
  let svc: TestService;
  let api: ReturnType<typeof fakeApi>;
  let down = true;

  beforeAll(async () => {
    api = fakeApi((r) => {
      if (down) return { status: 503 };
      if (r.method === "GET") return { status: 200, body: JSON.stringify({ data: [{ clientid: "mqtt-c1" }, { clientid: "other-c" }], meta: {} }) };
      return { status: r.path.includes("mqtt-c1") || r.path.includes("other-c") ? 204 : 404 };
    });
    svc = await startTestService(
      {
        MG_CLIENTS_HOOKS_HOST: "127.0.0.1",
        MG_CLIENTS_HOOKS_PORT: "0",
        MG_CLIENTS_ES_URL: "",
        MG_CLIENTS_BROKER_KIND: "emqx",
        MG_CLIENTS_BROKER_API_URL: `http://key-1:s%40cret@127.0.0.1:${api.port}`,
      },
      undefined,
      { kickerTuning: { backoff: { baseMs: 50, maxMs: 100 } }, presenceTuning: { flushMs: 50 } },
    );
  });
  afterAll(async () => {
    await svc?.dispose();
    api?.stop();
  });

  test("presence from the authn hook and the webhooks; the kick's requests; retried while the API answers 503", async () => {
    const dev = await device(svc);
    expect(await presence(svc, dev.id)).toEqual({ connected: false, sessions: 0 });
    const authn = await hook(svc, "/emqx/authn", { clientid: "mqtt-c1", username: dev.id, password: dev.secret, peerhost: "192.0.2.7" });
    expect(await authn.json()).toMatchObject({ result: "allow" });
    // Authenticated, not yet connected: seen, with its address.
    const seen = await presence(svc, dev.id);
    expect(seen).toMatchObject({ connected: false, sessions: 0, address: "192.0.2.7" });
    expect(Date.parse(seen.last_seen)).toBeGreaterThan(Date.now() - 10_000);
    const ev = await hook(svc, "/emqx/events", { event: "client.connected", clientid: "mqtt-c1", username: dev.id, peername: "192.0.2.7:50001" });
    expect([ev.status, await ev.text()]).toEqual([200, "{}"]);
    expect(await presence(svc, dev.id)).toMatchObject({ connected: true, sessions: 1, address: "192.0.2.7:50001" });
    await eventually(
      async () => {
        const r = await svc.api("GET", `/${DOMAIN}/clients?connected=true`);
        return r.json.clients?.some((c: { id: string }) => c.id === dev.id);
      },
      5000,
      "connected=true lists it",
    );

    expect((await svc.api("POST", `/${DOMAIN}/clients/${dev.id}/disable`)).status).toBe(200);
    await eventually(() => api.seen.length >= 2, 5000, "a failed attempt and its retry");
    down = false;
    await eventually(() => api.seen.filter((r) => r.method === "DELETE").length >= 3, 5000, "the kick");
    const last = api.seen.slice(api.seen.findLastIndex((r) => r.method === "GET"));
    expect(last).toEqual([
      { method: "GET", path: `/api/v5/clients?username=${dev.id}&limit=1000`, authorization: basic("key-1", "s@cret") },
      { method: "DELETE", path: "/api/v5/clients/mqtt-c1", authorization: basic("key-1", "s@cret") },
      { method: "DELETE", path: `/api/v5/clients/${dev.id}`, authorization: basic("key-1", "s@cret") },
      { method: "DELETE", path: "/api/v5/clients/other-c", authorization: basic("key-1", "s@cret") },
    ]);
    await eventually(
      () => svc.logs.some((l) => l.includes('"session kicked"') && l.includes('"broker":"emqx"') && l.includes('"closed":2')),
      5000,
      "the kick's log line",
    );
    expect(svc.logs.join("\n")).not.toContain("s@cret");

    await hook(svc, "/emqx/events", { event: "client.disconnected", clientid: "mqtt-c1", username: dev.id, reason: "kicked" });
    expect(await presence(svc, dev.id)).toMatchObject({ connected: false, sessions: 0, address: "192.0.2.7:50001" });
  });

  test("a channel role's member removed: that user's sessions are kicked", async () => {
    const ch = (await svc.api("POST", `/${DOMAIN}/channels`, { name: "c" })).json.id;
    const user = `user-${randomUUID()}`;
    const role = await svc.api("POST", `/${DOMAIN}/channels/${ch}/roles`, { role_name: "viewers", optional_actions: ["subscribe"], optional_members: [user] });
    expect(role.status).toBe(201);
    const before = api.seen.length;
    expect((await svc.api("POST", `/${DOMAIN}/channels/${ch}/roles/${role.json.id}/members/delete`, { members: [user] })).status).toBe(204);
    await eventually(() => api.seen.slice(before).some((r) => r.path === `/api/v5/clients/${user}`), 5000, "the user's kick");
  });

  test("malformed webhooks get 200 and are counted; a wrong token too", async () => {
    expect((await hook(svc, "/emqx/events", { event: "message.publish" })).status).toBe(200);
    expect((await svc.api("GET", "/metrics")).text).toMatch(/hooks_checks_total\{dialect="emqx",check="events",outcome="malformed"\} 1/);
  });
});

describe("VerneMQ: kicks by GET /api/v1/session/disconnect?client-id=…&--cleanup; presence from on_register / on_client_offline / on_client_gone", () => {
  let svc: TestService;
  let api: ReturnType<typeof fakeApi>;

  beforeAll(async () => {
    api = fakeApi(() => ({ status: 200, body: "{}" }));
    svc = await startTestService(
      {
        MG_CLIENTS_HOOKS_HOST: "127.0.0.1",
        MG_CLIENTS_HOOKS_PORT: "0",
        MG_CLIENTS_ES_URL: "",
        MG_CLIENTS_BROKER_KIND: "vernemq",
        MG_CLIENTS_BROKER_API_URL: `http://apikey123@127.0.0.1:${api.port}`,
      },
      undefined,
      { presenceTuning: { flushMs: 50 } },
    );
  });
  afterAll(async () => {
    await svc?.dispose();
    api?.stop();
  });

  const vmq = (hookName: string, body: unknown) => hook(svc, "/vernemq", body, { "vernemq-hook": hookName });

  test("presence and the kick's requests", async () => {
    const dev = await device(svc);
    const reg = await vmq("auth_on_register", {
      peer_addr: "192.0.2.9",
      peer_port: 40001,
      username: dev.id,
      password: dev.secret,
      mountpoint: "",
      client_id: "vmq-c1",
      clean_session: true,
    });
    expect(await reg.json()).toEqual({ result: "ok" });
    expect(
      await (await vmq("on_register", { peer_addr: "192.0.2.9", peer_port: 40001, username: dev.id, mountpoint: "", client_id: "vmq-c1" })).json(),
    ).toEqual({ result: "ok" });
    expect(await presence(svc, dev.id)).toMatchObject({ connected: true, sessions: 1, address: "192.0.2.9:40001" });
    const presenceEvents = () =>
      queryStore<{ payload: string }>(svc.store, "SELECT payload FROM outbox WHERE stream = 'magistrala.client.presence' AND entity_id = $1 ORDER BY seq", [
        dev.id,
      ]);
    // One flip per batch: the connect is published before the client goes.
    await eventually(async () => (await presenceEvents()).length === 1, 5000, "the connected event");
    // a second session, then it goes (on_client_gone carries no username)
    await vmq("on_register", { peer_addr: "192.0.2.9", peer_port: 40002, username: dev.id, mountpoint: "", client_id: "vmq-c2" });
    expect((await presence(svc, dev.id)).sessions).toBe(2);
    await vmq("on_client_gone", { mountpoint: "", client_id: "vmq-c2" });
    expect((await presence(svc, dev.id)).sessions).toBe(1);

    expect((await svc.api("PATCH", `/${DOMAIN}/clients/${dev.id}/secret`, { secret: `s-${randomUUID()}` })).status).toBe(200);
    await eventually(() => api.seen.length >= 3, 5000, "the kick");
    const auth = basic("apikey123", "");
    expect(api.seen).toEqual([
      { method: "GET", path: "/api/v1/session/disconnect?client-id=vmq-c1&--cleanup", authorization: auth },
      { method: "GET", path: "/api/v1/session/disconnect?client-id=vmq-c2&--cleanup", authorization: auth },
      { method: "GET", path: `/api/v1/session/disconnect?client-id=${dev.id}&--cleanup`, authorization: auth },
    ]);
    await vmq("on_client_offline", { mountpoint: "", client_id: "vmq-c1" });
    expect(await presence(svc, dev.id)).toMatchObject({ connected: false, sessions: 0 });
    // Written in a batch: the stored row and one event per flip.
    const events = await found(
      async () => {
        const e = await presenceEvents();
        return e.length >= 2 ? e : undefined;
      },
      5000,
      "two presence events",
    );
    expect(events.map((e) => JSON.parse(e.payload).connected)).toEqual([true, false]);
    const [row] = await queryStore<{ connected: number; sessions: number }>(svc.store, "SELECT connected, sessions FROM client_presence WHERE client_id = $1", [
      dev.id,
    ]);
    expect([Number(row!.connected), Number(row!.sessions)]).toEqual([0, 0]);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({
      operation: "client.presence",
      id: dev.id,
      domain: DOMAIN,
      address: expect.stringMatching(/^192\.0\.2\.9:4000[12]$/),
    });
  });
});

describe("without a broker link: kicks wait in their table", () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ MG_CLIENTS_HOOKS_PORT: "", MG_CLIENTS_ES_URL: "" });
  });
  afterAll(() => svc?.dispose());

  test("one row per client per revoking transaction, none for a change that revokes nothing", async () => {
    const dev = await device(svc);
    const ch = (await svc.api("POST", `/${DOMAIN}/channels`, { name: "c" })).json.id;
    await svc.api("POST", `/${DOMAIN}/channels/connect`, { channel_ids: [ch], client_ids: [dev.id], types: ["publish", "subscribe"] });
    await svc.api("PATCH", `/${DOMAIN}/clients/${dev.id}`, { name: "x" });
    const kicks = () => queryStore<{ stream: string; entity_id: string }>(svc.store, "SELECT stream, entity_id FROM kicks ORDER BY seq");
    expect(await kicks()).toEqual([]);
    // Deleting the client: its connections go (a kick) and so does it (the same kick).
    expect((await svc.api("DELETE", `/${DOMAIN}/clients/${dev.id}`)).status).toBe(204);
    expect(await kicks()).toEqual([{ stream: "client.remove", entity_id: dev.id }]);
  });
});

describe("MG_CLIENTS_BROKER_* configuration", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  test("off by default; parsed; credentials kept out of the URL", () => {
    expect(loadConfig({}).broker).toBeUndefined();
    expect(loadConfig({ MG_CLIENTS_BROKER_KIND: "rabbitmq", MG_CLIENTS_BROKER_API_URL: "http://admin:p%40ss@127.0.0.1:15672/" }).broker).toEqual({
      kind: "rabbitmq",
      apiUrl: "http://127.0.0.1:15672",
      username: "admin",
      password: "p@ss",
      pollMs: 5000,
    });
    expect(
      loadConfig({ MG_CLIENTS_BROKER_KIND: "vernemq", MG_CLIENTS_BROKER_API_URL: "http://key@h:8888", MG_CLIENTS_BROKER_POLL_INTERVAL: "2s" }).broker,
    ).toMatchObject({
      username: "key",
      password: "",
      pollMs: 2000,
    });
  });
  test("bad values are named, never with the password", () => {
    expect(problems({ MG_CLIENTS_BROKER_KIND: "mosquitto" })[0]).toContain("MG_CLIENTS_BROKER_KIND");
    expect(problems({ MG_CLIENTS_BROKER_KIND: "emqx" })[0]).toContain("MG_CLIENTS_BROKER_API_URL: required");
    expect(problems({ MG_CLIENTS_BROKER_API_URL: "http://a:b@h" })[0]).toContain("MG_CLIENTS_BROKER_KIND is empty");
    expect(problems({ MG_CLIENTS_BROKER_KIND: "rabbitmq", MG_CLIENTS_BROKER_API_URL: "http://h:15672" })[0]).toContain("has no credentials");
    const ftp = problems({ MG_CLIENTS_BROKER_KIND: "emqx", MG_CLIENTS_BROKER_API_URL: "ftp://u:topsecret@h" });
    expect(ftp[0]).toContain("http:// or https://");
    expect(ftp.join("\n")).not.toContain("topsecret");
    expect(problems({ MG_CLIENTS_BROKER_POLL_INTERVAL: "soon" })[0]).toContain("MG_CLIENTS_BROKER_POLL_INTERVAL");
  });
});
