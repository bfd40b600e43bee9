import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * Golden requests: what each broker sends (contract hooks.md §1–§5, read from their sources and
 * docs, RabbitMQ's also seen on the wire), in every encoding it can be configured with, and the
 * exact answer it needs — allow, deny, and malformed call-outs, never a 5xx.
 */

const TOKEN = `hooks-${randomUUID()}`;
const PRINCIPAL = { username: "mgclients", password: `pw-${randomUUID()}` };
const DOMAIN = randomUUID();

let svc: TestService;
let hooks: string;
let dev: { id: string; secret: string };
let chPub: string; // dev may publish here (route "kitchen")
let chSub: string; // dev may subscribe here
let chNone: string; // not connected

const bearer = { authorization: `Bearer ${TOKEN}` };
const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

interface Answer {
  status: number;
  text: string;
  json: any;
  type: string;
}
async function call(path: string, body: unknown, opts: { type?: string; headers?: Record<string, string>; method?: string } = {}): Promise<Answer> {
  const method = opts.method ?? "POST";
  const headers: Record<string, string> = { ...opts.headers };
  let payload: string | undefined;
  if (method !== "GET") {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    headers["content-type"] = opts.type ?? (typeof body === "string" ? "application/x-www-form-urlencoded" : "application/json");
  }
  const res = await fetch(hooks + path + (method === "GET" ? `?${body}` : ""), { method, headers, body: payload });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, text, json, type: res.headers.get("content-type") ?? "" };
}

const topic = (ch: string, sub = "temp") => `m/${DOMAIN}/c/${ch}/${sub}`;

beforeAll(async () => {
  svc = await startTestService({
    MG_CLIENTS_HOOKS_HOST: "127.0.0.1",
    MG_CLIENTS_HOOKS_PORT: "0",
    MG_CLIENTS_HOOKS_TOKEN: TOKEN,
    // No broker there: the publisher keeps retrying, which is all these tests need of it.
    MG_CLIENTS_ES_URL: `mqtt://${PRINCIPAL.username}:${PRINCIPAL.password}@127.0.0.1:9`,
  });
  hooks = svc.service.hooksUrl!;
  const c = await svc.api("POST", `/${DOMAIN}/clients`, { name: "dev" });
  dev = { id: c.json.id, secret: c.json.credentials.secret };
  const mk = async (body: object) => (await svc.api("POST", `/${DOMAIN}/channels`, body)).json.id as string;
  [chPub, chSub, chNone] = [await mk({ name: "p", route: "kitchen" }), await mk({ name: "s" }), await mk({ name: "n" })];
  await svc.api("POST", `/${DOMAIN}/channels/connect`, { channel_ids: [chPub], client_ids: [dev.id], types: ["publish"] });
  await svc.api("POST", `/${DOMAIN}/channels/connect`, { channel_ids: [chSub], client_ids: [dev.id], types: ["subscribe"] });
});
afterAll(() => svc.dispose());

describe("RabbitMQ rabbitmq_auth_backend_http (form POST or GET; 200 allow/deny as text)", () => {
  // As RabbitMQ 3.10.8 sends them (client_id and tags included; fields in its order).
  const user = (password: string) => form({ username: dev.id, password, vhost: "/", client_id: "mqtt-c1" });
  test("user", async () => {
    const r = await call("/rabbitmq/user", user(dev.secret));
    expect([r.status, r.text, r.type]).toEqual([200, "allow", "text/plain; charset=utf-8"]);
    expect((await call("/rabbitmq/user", user("wrong"))).text).toBe("deny");
    expect((await call("/rabbitmq/user", user(dev.secret), { method: "GET" })).text).toBe("allow");
    // certificate login: a CN and no password
    expect((await call("/rabbitmq/user", form({ username: dev.id }))).text).toBe("deny");
    // The service principal may be the management API's user: it gets the administrator tag (devices never do).
    expect((await call("/rabbitmq/user", form({ username: PRINCIPAL.username, password: PRINCIPAL.password, vhost: "/" }))).text).toBe("allow administrator");
    expect((await call("/rabbitmq/user", form({ username: PRINCIPAL.username, password: "wrong", vhost: "/" }))).text).toBe("deny");
  });
  test("vhost", async () => {
    const v = (vhost: string) => form({ username: dev.id, vhost, ip: "127.0.0.1", tags: "", client_id: "mqtt-c1" });
    expect((await call("/rabbitmq/vhost", v("/"))).text).toBe("allow");
    expect((await call("/rabbitmq/vhost", v("other"))).text).toBe("deny");
  });
  test("resource: the exchange, and only the connection's own subscription queues", async () => {
    const r = (resource: string, name: string, permission: string) =>
      call("/rabbitmq/resource", form({ username: dev.id, vhost: "/", resource, name, permission, tags: "", client_id: "mqtt-c1" }));
    for (const p of ["configure", "read", "write"]) expect((await r("queue", "mqtt-subscription-mqtt-c1qos1", p)).text).toBe("allow");
    expect((await r("queue", "mqtt-subscription-mqtt-c1qos0", "read")).text).toBe("allow");
    expect((await r("queue", "mqtt-subscription-someone-elseqos1", "read")).text).toBe("deny");
    expect((await r("queue", "orders", "read")).text).toBe("deny");
    expect((await r("exchange", "amq.topic", "write")).text).toBe("allow");
    expect((await r("exchange", "amq.topic", "read")).text).toBe("allow");
    expect((await r("exchange", "amq.topic", "configure")).text).toBe("deny");
    expect((await r("exchange", "amq.direct", "write")).text).toBe("deny");
  });
  test("topic: the routing key back to the MQTT topic", async () => {
    const t = (permission: string, routing_key: string, username = dev.id) =>
      call(
        "/rabbitmq/topic",
        form({
          username,
          vhost: "/",
          resource: "topic",
          name: "amq.topic",
          permission,
          routing_key,
          "variable_map.client_id": "mqtt-c1",
          "variable_map.username": username,
          "variable_map.vhost": "/",
        }),
      );
    expect((await t("write", `m.${DOMAIN}.c.${chPub}.temp`)).text).toBe("allow");
    expect((await t("write", `m.${DOMAIN}.c.kitchen.temp`)).text).toBe("allow");
    expect((await t("read", `m.${DOMAIN}.c.${chPub}.temp`)).text).toBe("deny");
    expect((await t("read", `m.${DOMAIN}.c.${chSub}.*`)).text).toBe("allow");
    expect((await t("read", `m.${DOMAIN}.c.${chSub}.#`)).text).toBe("allow");
    expect((await t("write", `m.${DOMAIN}.c.${chNone}`)).text).toBe("deny");
    expect((await t("write", "events.magistrala.client.create", PRINCIPAL.username)).text).toBe("allow");
    expect((await t("read", "events.#", PRINCIPAL.username)).text).toBe("allow");
    expect((await t("write", `m.${DOMAIN}.c.${chPub}`, PRINCIPAL.username)).text).toBe("deny");
    expect((await t("delete", `m.${DOMAIN}.c.${chPub}`)).text).toBe("deny");
  });
  test("no token needed: RabbitMQ cannot send one", async () => {
    expect((await call("/rabbitmq/user", user(dev.secret), { headers: {} })).text).toBe("allow");
  });
});

describe("EMQX 5 HTTP authn/authz (JSON, form or GET; always 200 with result)", () => {
  const authn = (password: string) => ({ clientid: "emqx-c1", username: dev.id, password, peerhost: "127.0.0.1" });
  const authz = (t: string, action: string) => ({ clientid: "emqx-c1", username: dev.id, topic: t, action, qos: "1", retain: "false" });
  test("authn in every encoding", async () => {
    const ok = await call("/emqx/authn", authn(dev.secret), { headers: bearer });
    expect([ok.status, ok.type]).toEqual([200, "application/json"]);
    expect(ok.json).toEqual({ result: "allow", is_superuser: false, client_attrs: { mg_client_id: dev.id } });
    expect((await call("/emqx/authn", form(authn(dev.secret)), { headers: bearer })).json.result).toBe("allow");
    expect((await call("/emqx/authn", form(authn(dev.secret)), { headers: bearer, method: "GET" })).json.result).toBe("allow");
    const no = await call("/emqx/authn", authn("wrong"), { headers: bearer });
    expect([no.status, no.json]).toEqual([200, { result: "deny" }]);
    expect((await call("/emqx/authn", { ...authn(PRINCIPAL.password), username: PRINCIPAL.username }, { headers: bearer })).json.result).toBe("allow");
  });
  test("authz: publish, subscribe, shared subscriptions, the health topic", async () => {
    const z = async (t: string, action: string) => (await call("/emqx/authz", authz(t, action), { headers: bearer })).json;
    expect(await z(topic(chPub), "publish")).toEqual({ result: "allow" });
    expect(await z(topic("kitchen"), "publish")).toEqual({ result: "allow" });
    expect(await z(topic(chPub), "subscribe")).toEqual({ result: "deny" });
    expect(await z(`m/${DOMAIN}/c/${chSub}/#`, "subscribe")).toEqual({ result: "allow" });
    expect(await z(`$share/g1/m/${DOMAIN}/c/${chSub}/#`, "subscribe")).toEqual({ result: "allow" });
    expect(await z(`$share/g1/m/${DOMAIN}/c/${chPub}/#`, "subscribe")).toEqual({ result: "deny" });
    expect(await z(`hc/${DOMAIN}`, "subscribe")).toEqual({ result: "allow" });
    expect(await z("#", "subscribe")).toEqual({ result: "deny" });
    expect(await z(topic(chNone), "publish")).toEqual({ result: "deny" });
    expect((await call("/emqx/authz", form(authz(topic(chPub), "publish")), { headers: bearer })).json).toEqual({ result: "allow" });
    expect((await call("/emqx/authz", form(authz(topic(chPub), "publish")), { headers: bearer, method: "GET" })).json).toEqual({ result: "allow" });
  });
  test("without the bearer token: deny (200), counted as unauthorized", async () => {
    const r = await call("/emqx/authn", authn(dev.secret));
    expect([r.status, r.json]).toEqual([200, { result: "deny" }]);
    expect((await call("/emqx/authz", authz(topic(chPub), "publish"), { headers: { authorization: "Bearer nope" } })).json).toEqual({ result: "deny" });
    expect((await svc.api("GET", "/metrics")).text).toMatch(/hooks_checks_total\{dialect="emqx",check="authn",outcome="unauthorized"\} [1-9]/);
  });
  test("malformed call-outs: deny with 200, never an error status", async () => {
    for (const body of ["{not json", "[1]", "", form({ username: dev.id })])
      for (const path of ["/emqx/authn", "/emqx/authz"]) {
        const r = await call(path, body, { headers: bearer, type: body.startsWith("{") || body.startsWith("[") ? "application/json" : undefined });
        expect([path, r.status, r.json]).toEqual([path, 200, { result: "deny" }]);
      }
    expect((await call("/emqx/authz", authz(topic(chPub), "all"), { headers: bearer })).json).toEqual({ result: "deny" });
  });
});

describe("NanoMQ http_auth (form, JSON or GET; only the status counts)", () => {
  const auth = (password: string) => ({ clientid: "nano-c1", username: dev.id, password });
  test("auth in every encoding", async () => {
    expect((await call("/nanomq/auth", form(auth(dev.secret)), { headers: bearer })).status).toBe(200);
    expect((await call("/nanomq/auth", auth(dev.secret), { headers: bearer })).status).toBe(200);
    expect((await call("/nanomq/auth", form(auth(dev.secret)), { headers: bearer, method: "GET" })).status).toBe(200);
    expect((await call("/nanomq/auth", form(auth("wrong")), { headers: bearer })).status).toBe(403);
    expect((await call("/nanomq/auth", form(auth(dev.secret)))).status).toBe(403); // no token
  });
  test("nobody is a superuser", async () => {
    expect((await call("/nanomq/superuser", form({ clientid: "nano-c1", username: dev.id }), { headers: bearer })).status).toBe(403);
    expect((await call("/nanomq/superuser", form({ clientid: "x", username: PRINCIPAL.username }), { headers: bearer })).status).toBe(403);
  });
  test("acl: access 2 = publish, 1 = subscribe with every filter joined by ','", async () => {
    const acl = (access: string, t: string) =>
      call("/nanomq/acl", form({ clientid: "nano-c1", username: dev.id, access, ipaddr: "127.0.0.1", topic: t, mountpoint: "" }), { headers: bearer });
    expect((await acl("2", topic(chPub))).status).toBe(200);
    expect((await acl("1", topic(chPub))).status).toBe(403);
    expect((await acl("1", `${topic(chSub)},m/${DOMAIN}/c/${chSub}/#`)).status).toBe(200);
    expect((await acl("1", `${topic(chSub)},${topic(chNone)}`)).status).toBe(403);
    expect((await acl("3", topic(chPub))).status).toBe(403);
  });
  test("malformed call-outs: 403, never 5xx", async () => {
    for (const body of ["{x", "[]", ""])
      for (const path of ["/nanomq/auth", "/nanomq/acl"]) expect((await call(path, body, { headers: bearer })).status).toBe(403);
  });
});

describe("mosquitto-go-auth HTTP backend (JSON or form; 200 {ok:true} / 403 {ok:false})", () => {
  test("user", async () => {
    const ok = await call("/go-auth/user", { username: dev.id, password: dev.secret, clientid: "ga-c1" });
    expect([ok.status, ok.json]).toEqual([200, { ok: true }]);
    expect((await call("/go-auth/user", form({ username: dev.id, password: dev.secret, clientid: "ga-c1" }))).json).toEqual({ ok: true });
    const no = await call("/go-auth/user", { username: dev.id, password: "wrong", clientid: "ga-c1" });
    expect([no.status, no.json.ok, typeof no.json.error]).toEqual([403, false, "string"]);
  });
  test("superuser is refused", async () => {
    expect((await call("/go-auth/superuser", { username: dev.id })).status).toBe(403);
  });
  test("acl: acc 1 = read, 2 = write, 4 = subscribe (a JSON number, or text in form mode)", async () => {
    const acl = (acc: number | string, t: string) =>
      typeof acc === "number"
        ? call("/go-auth/acl", { username: dev.id, clientid: "ga-c1", topic: t, acc })
        : call("/go-auth/acl", form({ username: dev.id, clientid: "ga-c1", topic: t, acc }));
    expect((await acl(2, topic(chPub))).status).toBe(200);
    expect((await acl("2", topic(chPub))).status).toBe(200);
    expect((await acl(4, topic(chPub))).status).toBe(403);
    expect((await acl(4, `m/${DOMAIN}/c/${chSub}/#`)).status).toBe(200);
    expect((await acl(1, topic(chSub, "room-7"))).status).toBe(200); // a message about to be delivered
    expect((await acl(1, topic(chPub))).status).toBe(403);
    expect((await acl(3, topic(chPub))).status).toBe(403);
  });
  test("malformed call-outs: 403 with ok:false", async () => {
    for (const body of ["{x", "[]", ""]) {
      const r = await call("/go-auth/acl", body, { type: "application/json" });
      expect([r.status, r.json?.ok]).toEqual([403, false]);
    }
  });
});

describe("VerneMQ vmq_webhooks (one endpoint, dispatch on vernemq-hook)", () => {
  const hook = (name: string, body: unknown, headers: Record<string, string> = bearer) =>
    call("/vernemq", body, { headers: { ...headers, "vernemq-hook": name } });
  const register = (password: string) => ({
    peer_addr: "127.0.0.1",
    peer_port: 50123,
    username: dev.id,
    password,
    mountpoint: "",
    client_id: "vmq-c1",
    clean_session: true,
  });
  test("auth_on_register (and _m5)", async () => {
    expect((await hook("auth_on_register", register(dev.secret))).json).toEqual({ result: "ok" });
    expect((await hook("auth_on_register_m5", { ...register(dev.secret), properties: {} })).json).toEqual({ result: "ok" });
    const no = await hook("auth_on_register", register("wrong"));
    expect([no.status, no.json]).toEqual([200, { result: { error: "not_allowed" } }]);
    expect((await hook("auth_on_register", register(dev.secret), {})).json).toEqual({ result: { error: "not_allowed" } }); // no token
    // vmq_webhooks cannot set headers: the token as the endpoint URL's password arrives as Basic auth.
    const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}` });
    expect((await hook("auth_on_register", register(dev.secret), basic("hooks", TOKEN))).json).toEqual({ result: "ok" });
    expect((await hook("auth_on_register", register(dev.secret), basic("hooks", "nope"))).json).toEqual({ result: { error: "not_allowed" } });
    expect((await hook("auth_on_register", register(dev.secret), { authorization: `Bearer ${TOKEN}x` })).json).toEqual({ result: { error: "not_allowed" } });
  });
  test("auth_on_publish (and _m5)", async () => {
    const p = (t: string) => ({
      username: dev.id,
      client_id: "vmq-c1",
      mountpoint: "",
      qos: 1,
      topic: t,
      payload: Buffer.from("21.5").toString("base64"),
      retain: false,
    });
    expect((await hook("auth_on_publish", p(topic(chPub)))).json).toEqual({ result: "ok" });
    expect((await hook("auth_on_publish_m5", { ...p(topic(chPub)), properties: {} })).json).toEqual({ result: "ok" });
    expect((await hook("auth_on_publish", p(topic(chSub)))).json).toEqual({ result: { error: "not_allowed" } });
  });
  test("auth_on_subscribe: QoS 128 for each rejected filter", async () => {
    const topics = [
      { topic: `m/${DOMAIN}/c/${chSub}/#`, qos: 1 },
      { topic: topic(chNone), qos: 0 },
    ];
    const r = await hook("auth_on_subscribe", { client_id: "vmq-c1", mountpoint: "", username: dev.id, topics });
    expect(r.json).toEqual({
      result: "ok",
      topics: [
        { topic: `m/${DOMAIN}/c/${chSub}/#`, qos: 1 },
        { topic: topic(chNone), qos: 128 },
      ],
    });
    // MQTT 5: VerneMQ reads the topics from modifiers; the allowed entry keeps its options.
    const m5topics = [
      { topic: `m/${DOMAIN}/c/${chSub}/#`, qos: 1, no_local: false, rap: true, retain_handling: "send_retain" },
      { topic: topic(chPub), qos: 2, no_local: false, rap: false, retain_handling: "send_retain" },
    ];
    const m5 = await hook("auth_on_subscribe_m5", { client_id: "vmq-c1", mountpoint: "", username: dev.id, topics: m5topics, properties: {} });
    expect(m5.json).toEqual({
      result: "ok",
      topics: [
        { topic: `m/${DOMAIN}/c/${chSub}/#`, qos: 1 },
        { topic: topic(chPub), qos: 128 },
      ],
      modifiers: { topics: [m5topics[0], { topic: topic(chPub), qos: 128 }] },
    });
  });
  test("notification hooks are acknowledged; unknown hooks and malformed bodies refused", async () => {
    expect((await hook("on_client_gone", { client_id: "vmq-c1", mountpoint: "" })).json).toEqual({ result: "ok" });
    expect((await hook("on_register", { peer_addr: "127.0.0.1", peer_port: 1, username: dev.id, mountpoint: "", client_id: "vmq-c1" })).json).toEqual({
      result: "ok",
    });
    expect((await hook("on_auth_m5", { username: dev.id })).json).toEqual({ result: { error: "not_allowed" } });
    expect((await call("/vernemq", register(dev.secret), { headers: bearer })).json).toEqual({ result: { error: "not_allowed" } });
    expect((await hook("auth_on_subscribe", { username: dev.id, topics: "x" })).json).toEqual({ result: { error: "not_allowed" } });
    expect((await hook("auth_on_publish", "{x", bearer)).json).toEqual({ result: { error: "not_allowed" } });
  });
});

describe("across dialects", () => {
  test("hostile bodies never get a 5xx", async () => {
    const paths = ["/rabbitmq/user", "/rabbitmq/vhost", "/rabbitmq/resource", "/rabbitmq/topic", "/emqx/authn", "/emqx/authz"];
    paths.push("/nanomq/auth", "/nanomq/superuser", "/nanomq/acl", "/go-auth/user", "/go-auth/superuser", "/go-auth/acl", "/vernemq");
    const bodies = ["", "{", "[]", "null", '{"username":{"$ne":1}}', '{"username":1,"password":[1],"topic":{}}', "%zz=%zz", "\u0000\u0001", "a".repeat(60_000)];
    for (const path of paths)
      for (const body of bodies)
        for (const type of ["application/json", "application/x-www-form-urlencoded", "text/plain"]) {
          const r = await call(path, body, { type, headers: { ...bearer, "vernemq-hook": "auth_on_register" } });
          if (r.status >= 500) throw new Error(`${path} answered ${r.status} to ${JSON.stringify(body.slice(0, 40))} (${type})`);
        }
  });

  test("revocation on the very next call: disable the client, delete the route's channel", async () => {
    const c = await svc.api("POST", `/${DOMAIN}/clients`, { name: "revoked" });
    const id = c.json.id as string;
    const secret = c.json.credentials.secret as string;
    const ch = await svc.api("POST", `/${DOMAIN}/channels`, { name: "r", route: "porch" });
    await svc.api("POST", `/${DOMAIN}/channels/connect`, { channel_ids: [ch.json.id], client_ids: [id], types: ["publish"] });
    const authn = async () => (await call("/emqx/authn", { username: id, password: secret, clientid: "x" }, { headers: bearer })).json.result;
    const authz = async () => (await call("/emqx/authz", { username: id, topic: topic("porch"), action: "publish" }, { headers: bearer })).json.result;
    expect([await authn(), await authz(), await authn(), await authz()]).toEqual(["allow", "allow", "allow", "allow"]); // cached now
    expect((await svc.api("DELETE", `/${DOMAIN}/channels/${ch.json.id}`)).status).toBe(204);
    expect(await authz()).toBe("deny");
    // a new channel takes the route: the route now means it
    const ch2 = await svc.api("POST", `/${DOMAIN}/channels`, { name: "r2", route: "porch" });
    await svc.api("POST", `/${DOMAIN}/channels/connect`, { channel_ids: [ch2.json.id], client_ids: [id], types: ["publish"] });
    expect(await authz()).toBe("allow");
    expect((await svc.api("POST", `/${DOMAIN}/clients/${id}/disable`)).status).toBe(200);
    expect([await authn(), await authz()]).toEqual(["deny", "deny"]);
  });

  test("every refusal logs one info line, never the password", async () => {
    const secret = `very-secret-${randomUUID()}`;
    await call("/emqx/authn", { username: dev.id, password: secret, clientid: "x" }, { headers: bearer });
    const lines = svc.logs.filter((l) => l.includes('"hook refused"'));
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.every((l) => l.includes('"level":"info"'))).toBe(true);
    const all = svc.logs.join("\n");
    for (const s of [secret, dev.secret, PRINCIPAL.password, TOKEN]) expect(all).not.toContain(s);
  });

  test("metrics per dialect, check and outcome", async () => {
    const m = (await svc.api("GET", "/metrics")).text;
    for (const [d, c, o] of [
      ["rabbitmq", "user", "allow"],
      ["rabbitmq", "subscribe", "deny"],
      ["emqx", "publish", "allow"],
      ["emqx", "authn", "malformed"],
      ["nanomq", "superuser", "deny"],
      ["go-auth", "read", "allow"],
      ["vernemq", "subscribe", "deny"],
    ])
      expect(m).toMatch(new RegExp(`hooks_checks_total\\{dialect="${d}",check="${c}",outcome="${o}"\\} [1-9]`));
  });
});
