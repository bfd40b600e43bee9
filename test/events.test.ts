import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createSecretHasher, loadInstallationKey } from "../src/auth/secrets.ts";
import { queryStore } from "./helpers/backend.ts";
import { eventually, TestBroker } from "./helpers/broker.ts";
import { type ApiResponse, request, startTestService, type TestService, tempDir } from "./helpers/service.ts";

/**
 * Events end to end: the real service (in-process, real sockets) publishing to a real MQTT broker
 * (aedes, in-process, so a test can stop it, start it again, or hold its acknowledgements).
 */

const USER = "6f1c9a52-3d0e-4b8e-9a57-1f2e3d4c5b6a";
const SESSION_KEYS = ["operation", "domain", "user_id", "token_type", "super_admin", "request_id", "occurred_at"];
const keySet = (...keys: string[]) => [...SESSION_KEYS, ...keys].sort();
const CREATE_KEYS = ["id", "status", "created_at", "roles_provisioned", "metadata", "private_metadata"];
const UPDATE_KEYS = ["updated_at", "updated_by", "id", "status", "metadata", "private_metadata", "created_at"];
const STATUS_KEYS = ["id", "status", "updated_at", "updated_by"];
/** Fast reconnects keep the broker-away tests short; the production defaults are 200 ms → 5 s. */
const FAST = { publisherTuning: { backoffMinMs: 50, backoffMaxMs: 400 } };

const rid = (r: ApiResponse) => r.headers.get("x-request-id")!;

async function health(svc: TestService) {
  return (await request(svc.url, "GET", "/health")).json as { status: string; event_broker: string };
}

async function metric(svc: TestService, series: string): Promise<number> {
  const text = (await request(svc.url, "GET", "/metrics")).text;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Rows left in a service's outbox, read from its database (either backend). */
function outboxRows(svc: TestService): Promise<{ stream: string; payload: string }[]> {
  return queryStore(svc.store, "SELECT stream, payload FROM outbox ORDER BY seq");
}

const services: TestService[] = [];
const brokers: TestBroker[] = [];
async function service(env: Record<string, string>, options = {}, dataDir = tempDir()): Promise<TestService> {
  const svc = await startTestService({ MG_CLIENTS_STANDALONE_ID: USER, MG_CLIENTS_STANDALONE_TOKEN: "tok-events", ...env }, dataDir, options);
  services.push(svc);
  return svc;
}
async function broker(): Promise<TestBroker> {
  const b = await TestBroker.start();
  brokers.push(b);
  return b;
}
async function connected(svc: TestService) {
  await eventually(async () => (await health(svc)).event_broker === "connected", 10_000, "the broker connection");
}

let shared: TestBroker;
beforeAll(async () => {
  shared = await broker();
});
afterAll(async () => {
  for (const s of services) await s.dispose().catch(() => undefined);
  for (const b of brokers) await b.stop();
});

describe("events on MQTT", () => {
  test("every client operation publishes its contract topic with the exact key set; reads, no-ops and failures publish nothing", async () => {
    const svc = await service({ MG_CLIENTS_ES_URL: shared.url });
    await connected(svc);
    const D = `dom-${randomUUID()}`;
    const SECRET = "first-s3cret-value";
    const NEW_SECRET = "second-s3cret-value";
    const t0 = BigInt(Date.now() - 1) * 1_000_000n;
    const expected: { topic: string; op: string; requestId: string; id: string; keys: string[]; values?: Record<string, unknown> }[] = [];
    const call = async (method: string, path: string, status: number, body?: unknown) => {
      const r = await svc.api(method, `/${D}/clients${path}`, body);
      expect(r.status).toBe(status);
      return r;
    };
    const expect1 = (r: ApiResponse, op: string, topic: string, id: string, keys: string[], values?: Record<string, unknown>) =>
      expected.push({ topic, op, requestId: rid(r), id, keys: keySet(...keys), values });

    const full = await call("POST", "", 201, {
      name: "thermo",
      tags: ["lab"],
      credentials: { identity: "thermo-1", secret: SECRET },
      metadata: { room: "a1" },
      private_metadata: { k: "v" },
    });
    const id = full.json.id as string;
    expect1(full, "client.create", "events/magistrala/client/create", id, [...CREATE_KEYS, "name", "tags", "identity"], {
      status: "enabled",
      name: "thermo",
      tags: ["lab"],
      identity: "thermo-1",
      metadata: { room: "a1" },
      private_metadata: { k: "v" },
      // the built-in admin role of this client (contract events.md §4: no role.add event of its own)
      roles_provisioned: [expect.objectContaining({ name: "admin", entity_id: id, created_by: USER, optional_members: [USER] })],
      created_at: full.json.created_at,
    });
    const bare = await call("POST", "", 201, {});
    expect1(bare, "client.create", "events/magistrala/client/create", bare.json.id, CREATE_KEYS, { metadata: {}, private_metadata: {} });
    const bulk = await call("POST", "/bulk", 200, [{ name: "b1" }, { name: "b2" }, { name: "b3", status: "disabled" }]);
    for (const c of bulk.json.clients)
      expect1(bulk, "client.create", "events/magistrala/client/create", c.id, [...CREATE_KEYS, "name"], { name: c.name, status: c.status });

    // Reads emit nothing.
    await call("GET", `/${id}`, 200);
    await call("GET", "", 200);
    await call("GET", "?status=all&limit=100", 200);

    const upd = await call("PATCH", `/${id}`, 200, { name: "thermo-2", metadata: { room: "b2" } });
    expect1(upd, "client.update", "events/magistrala/client/update", id, [...UPDATE_KEYS, "name", "tags", "identity"], {
      name: "thermo-2",
      metadata: { room: "b2" },
      updated_by: USER,
      updated_at: upd.json.updated_at,
      created_at: full.json.created_at,
      status: "enabled",
    });
    const bareUpd = await call("PATCH", `/${bare.json.id}`, 200, { metadata: { a: 1 } });
    expect1(bareUpd, "client.update", "events/magistrala/client/update", bare.json.id, UPDATE_KEYS, { metadata: { a: 1 }, private_metadata: {} });
    const tags = await call("PATCH", `/${id}/tags`, 200, { tags: ["lab", "floor-2"] });
    expect1(tags, "client.update_tags", "events/magistrala/client/update_tags", id, [...UPDATE_KEYS, "name", "tags", "identity"], { tags: ["lab", "floor-2"] });
    const secret = await call("PATCH", `/${id}/secret`, 200, { secret: NEW_SECRET });
    expect1(secret, "client.update_secret", "events/magistrala/client/update_secret", id, [...UPDATE_KEYS, "name", "tags", "identity"]);
    const disable = await call("POST", `/${id}/disable`, 200);
    expect1(disable, "client.disable", "events/magistrala/client/disable", id, STATUS_KEYS, { status: "disabled", updated_by: USER });
    await call("POST", `/${id}/disable`, 422); // status already assigned: no change, no event
    await call("PATCH", `/${id}`, 404, { name: "x" }); // a disabled client cannot be updated: no event
    const enable = await call("POST", `/${id}/enable`, 200);
    expect1(enable, "client.enable", "events/magistrala/client/enable", id, STATUS_KEYS, { status: "enabled" });
    const setParent = await call("POST", `/${id}/parent`, 200, { parent_group_id: "group-1" });
    expect1(setParent, "client.set_parent", "events/magistrala/client/set_parent", id, ["id", "parent_group_id"], { parent_group_id: "group-1" });
    await call("POST", `/${id}/parent`, 400, { parent_group_id: "group-2" }); // already has a parent
    const removeParent = await call("DELETE", `/${id}/parent`, 204);
    expect1(removeParent, "client.remove_parent", "events/magistrala/client/remove_parent", id, ["id"]);
    await call("DELETE", `/${id}/parent`, 204); // nothing to remove: no event
    const remove = await call("DELETE", `/${id}`, 204);
    expect1(remove, "client.remove", "events/magistrala/client/remove", id, ["id"]);
    await call("DELETE", `/${id}`, 404);
    await call("GET", `/${id}`, 404);

    const mine = () => shared.received.filter((m) => m.json?.domain === D);
    await shared.waitUntil(() => mine().length >= expected.length, 10_000, `${expected.length} events`);
    await Bun.sleep(150); // anything extra (a read's or a failure's event) would arrive by now
    const t1 = BigInt(Date.now() + 1) * 1_000_000n;
    const got = mine();
    expect(got.map((m) => `${m.json.operation} ${m.json.id}`)).toEqual(expected.map((e) => `${e.op} ${e.id}`));

    const hasher = createSecretHasher(loadInstallationKey(svc.dataDir).key);
    const forbidden = [SECRET, NEW_SECRET, hasher.hash(D, SECRET), hasher.hash(D, NEW_SECRET), "secret_hash", '"secret"', "credentials"];
    for (const [i, m] of got.entries()) {
      const e = expected[i]!;
      expect(m.topic).toBe(e.topic);
      expect(Object.keys(m.json).sort()).toEqual(e.keys);
      expect(m.json).toMatchObject({
        operation: e.op,
        id: e.id,
        domain: D,
        user_id: USER,
        token_type: "access token",
        super_admin: false,
        request_id: e.requestId,
      });
      if (e.values) expect(m.json).toMatchObject(e.values);
      for (const k of ["created_at", "updated_at"]) if (k in m.json) expect(m.json[k]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      // occurred_at: an integer of Unix nanoseconds, written as exact digits.
      const ns = /"occurred_at":(\d+)[,}]/.exec(m.text)?.[1];
      expect(ns).toBeDefined();
      expect(BigInt(ns!) >= t0 && BigInt(ns!) <= t1).toBe(true);
      for (const f of forbidden) expect(m.text).not.toContain(f);
    }
    // QoS 1, not retained.
    const sent = shared.attempts.filter((a) => a.topic.startsWith("events/"));
    expect(sent.length).toBeGreaterThanOrEqual(expected.length);
    for (const a of sent) expect({ qos: a.qos, retain: a.retain }).toEqual({ qos: 1, retain: false });
  });

  test("a commit wakes the publisher: each event arrives long before the 2 s safety poll", async () => {
    const svc = await service({ MG_CLIENTS_ES_URL: shared.url });
    await connected(svc);
    const D = `wake-${randomUUID()}`;
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(100); // the publisher is idle, waiting
      const r = await svc.api("POST", `/${D}/clients`, { name: `w${i}` });
      const done = performance.now();
      await shared.waitUntil(() => shared.received.some((m) => m.json?.request_id === rid(r)), 5000, "the event");
      latencies.push(shared.received.find((m) => m.json?.request_id === rid(r))!.at - done);
    }
    expect(Math.max(...latencies)).toBeLessThan(500);
  });

  test("200 mutations while the broker is down all succeed, and every one of their events arrives once it is back", async () => {
    const b = await broker();
    const svc = await service({ MG_CLIENTS_ES_URL: b.url }, FAST);
    await connected(svc);
    await b.stop();
    await eventually(async () => (await health(svc)).event_broker === "disconnected", 5000, "the disconnect");

    const D = `away-${randomUUID()}`;
    const order: string[] = [];
    const statuses: number[] = [];
    const record = (r: ApiResponse) => {
      statuses.push(r.status);
      order.push(rid(r));
      return r;
    };
    for (let i = 0; i < 50; i++) {
      const c = record(await svc.api("POST", `/${D}/clients`, { name: `away-${i}` }));
      record(await svc.api("PATCH", `/${D}/clients/${c.json.id}/tags`, { tags: [`t${i}`] }));
      record(await svc.api("POST", `/${D}/clients/${c.json.id}/disable`));
      record(await svc.api("POST", `/${D}/clients/${c.json.id}/enable`));
    }
    expect(order).toHaveLength(200);
    expect(statuses.filter((s) => s !== 200 && s !== 201)).toEqual([]);
    expect(new Set(order).size).toBe(200);
    expect(await metric(svc, "events_outbox_depth")).toBe(200);
    expect(b.on("events/").filter((m) => m.json?.domain === D)).toHaveLength(0);

    await b.start();
    const mine = () => b.on("events/").filter((m) => m.json?.domain === D);
    await b.waitUntil(() => new Set(mine().map((m) => m.json.request_id)).size === 200, 15_000, "all 200 events");
    await eventually(async () => (await metric(svc, "events_outbox_depth")) === 0, 5000, "an empty outbox");
    const seen = mine().map((m) => m.json.request_id as string);
    const duplicates = seen.length - new Set(seen).size;
    console.log(`broker away: 200 mutations, ${new Set(seen).size} distinct events delivered, ${duplicates} duplicates`);
    expect(order.filter((id) => !seen.includes(id))).toEqual([]);
    // Published in outbox order: the first delivery of each event follows the order of the writes.
    const firsts = seen.filter((id, i) => seen.indexOf(id) === i);
    expect(firsts).toEqual(order);
  });

  test("/health stays pass and reports the broker: disabled, connected, disconnected, connected again", async () => {
    const off = await service({ MG_CLIENTS_ES_URL: "" });
    expect(await health(off)).toMatchObject({ status: "pass", event_broker: "disabled" });

    const b = await broker();
    const svc = await service({ MG_CLIENTS_ES_URL: b.url }, FAST);
    await connected(svc);
    expect(await health(svc)).toMatchObject({ status: "pass", event_broker: "connected" });
    await b.stop();
    await eventually(async () => (await health(svc)).event_broker === "disconnected", 5000, "disconnected");
    expect(await health(svc)).toMatchObject({ status: "pass", event_broker: "disconnected" });
    expect((await svc.api("POST", "/h/clients", { name: "still works" })).status).toBe(201);
    await b.start();
    await connected(svc);
    expect(await health(svc)).toMatchObject({ status: "pass", event_broker: "connected" });
  });

  test("/metrics: outbox depth, events published, publish failures (connect / publish), broker connected", async () => {
    const b = await broker();
    const svc = await service({ MG_CLIENTS_ES_URL: b.url }, { publisherTuning: { ...FAST.publisherTuning, ackTimeoutMs: 300 } });
    await connected(svc);
    const D = `metrics-${randomUUID()}`;
    for (let i = 0; i < 3; i++) expect((await svc.api("POST", `/${D}/clients`, { name: `m${i}` })).status).toBe(201);
    await eventually(async () => (await metric(svc, "events_published_total")) === 3, 5000, "3 published");
    expect(await metric(svc, "events_outbox_depth")).toBe(0);
    expect(await metric(svc, "events_broker_connected")).toBe(1);
    expect(await metric(svc, 'events_publish_failures_total{reason="publish"}')).toBe(0);
    expect(await metric(svc, "events_dropped_total")).toBe(0);

    // Sent but never acknowledged: a publish failure, and the event stays in the outbox.
    b.holdPublishes = true;
    expect((await svc.api("POST", `/${D}/clients`, { name: "held" })).status).toBe(201);
    await eventually(async () => (await metric(svc, 'events_publish_failures_total{reason="publish"}')) >= 1, 5000, "a publish failure");
    expect(await metric(svc, "events_outbox_depth")).toBe(1);
    b.holdPublishes = false;
    await eventually(async () => (await metric(svc, "events_outbox_depth")) === 0, 5000, "the held event delivered");
    expect(await metric(svc, "events_published_total")).toBe(4);

    // Broker away: connection failures, depth grows.
    await b.stop();
    for (let i = 0; i < 2; i++) expect((await svc.api("POST", `/${D}/clients`, { name: `away${i}` })).status).toBe(201);
    await eventually(async () => (await metric(svc, 'events_publish_failures_total{reason="connect"}')) >= 1, 5000, "a connect failure");
    expect(await metric(svc, "events_outbox_depth")).toBe(2);
    expect(await metric(svc, "events_broker_connected")).toBe(0);
  });

  test("the cap drops the oldest undelivered events, counts and logs it; writes never fail; the newest are delivered later", async () => {
    const dataDir = tempDir();
    const off = await service({ MG_CLIENTS_ES_URL: "", MG_CLIENTS_ES_OUTBOX_MAX_ROWS: "5" }, {}, dataDir);
    const D = `cap-${randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await off.api("POST", `/${D}/clients`, { name: `c${i}` });
      expect(r.status).toBe(201);
      ids.push(r.json.id);
    }
    // A bulk past the cap on its own also succeeds.
    const bulk = await off.api(
      "POST",
      `/${D}/clients/bulk`,
      Array.from({ length: 7 }, (_, i) => ({ name: `bulk${i}` })),
    );
    expect(bulk.status).toBe(200);
    await eventually(async () => (await metric(off, "events_dropped_total")) === 10, 5000, "10 dropped");
    expect(await metric(off, "events_outbox_depth")).toBe(5);
    expect(await outboxRows(off)).toHaveLength(5);
    const warning = off.logs.map((l) => JSON.parse(l)).find((l) => l.msg.includes("dropped the oldest"));
    expect(warning).toMatchObject({ level: "warn", max_rows: 5 });
    await off.stop();

    // The survivors are the newest five: delivered once a broker is configured.
    const newest = bulk.json.clients.slice(2).map((c: { id: string }) => c.id);
    const b = await broker();
    const on = await service({ MG_CLIENTS_ES_URL: b.url, MG_CLIENTS_ES_OUTBOX_MAX_ROWS: "5" }, {}, dataDir);
    const mine = () => b.on("events/").filter((m) => m.json?.domain === D);
    await b.waitUntil(() => mine().length >= 5, 10_000, "5 events");
    await Bun.sleep(100);
    expect(mine().map((m) => m.json.id)).toEqual(newest);
    expect(await metric(on, "events_outbox_depth")).toBe(0);
  });

  test("shutdown flushes the outbox within the flush window", async () => {
    const b = await broker();
    b.ackDelayMs = 250; // slow acknowledgements: all 20 still in flight when stop() begins
    const svc = await service({ MG_CLIENTS_ES_URL: b.url });
    await connected(svc);
    const D = `flush-${randomUUID()}`;
    const bulk = await svc.api(
      "POST",
      `/${D}/clients/bulk`,
      Array.from({ length: 20 }, (_, i) => ({ name: `f${i}` })),
    );
    expect(bulk.status).toBe(200);
    await svc.stop();
    expect(b.on("events/").filter((m) => m.json?.domain === D)).toHaveLength(20);
    expect(await outboxRows(svc)).toHaveLength(0);
  });

  test("shutdown deletes nothing unacknowledged: a held event stays in the outbox and is delivered after the restart", async () => {
    const b = await broker();
    b.holdPublishes = true;
    const dataDir = tempDir();
    const first = await service({ MG_CLIENTS_ES_URL: b.url }, { shutdownFlushMs: 300 }, dataDir);
    await connected(first);
    const r = await first.api("POST", "/held/clients", { name: "held" });
    expect(r.status).toBe(201);
    await eventually(() => b.attempts.some((a) => a.topic === "events/magistrala/client/create"), 5000, "the publish attempt");
    const t = performance.now();
    await first.stop();
    const took = performance.now() - t;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2000);
    const left = await outboxRows(first);
    expect(left).toHaveLength(1);
    expect(JSON.parse(left[0]!.payload).request_id).toBe(rid(r));

    await b.stop();
    b.holdPublishes = false;
    await b.start();
    await service({ MG_CLIENTS_ES_URL: b.url }, {}, dataDir);
    await b.waitUntil(() => b.received.some((m) => m.json?.request_id === rid(r)), 10_000, "the held event");
  });

  test("broker credentials come from the URL (percent-decoded) and the password is never logged", async () => {
    const b = await broker();
    b.credentials = { username: "gw-user", password: "p@ss word/1" };
    const good = await service({ MG_CLIENTS_ES_URL: `mqtt://gw-user:p%40ss%20word%2F1@127.0.0.1:${b.port}` });
    await connected(good);
    expect(b.logins.at(-1)).toEqual({ username: "gw-user", password: "p@ss word/1" });

    const bad = await service({ MG_CLIENTS_ES_URL: `mqtt://gw-user:wrong-pass-9@127.0.0.1:${b.port}` }, FAST);
    await eventually(async () => (await metric(bad, 'events_publish_failures_total{reason="connect"}')) >= 2, 5000, "refused logins");
    expect(await health(bad)).toMatchObject({ status: "pass", event_broker: "disconnected" });
    const warn = bad.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "event broker unreachable, events wait in the outbox");
    expect(warn?.url).toBe(`mqtt://gw-user:***@127.0.0.1:${b.port}`);
    const logs = [...good.logs, ...bad.logs].join("");
    for (const secret of ["p@ss", "p%40ss", "wrong-pass-9"]) expect(logs).not.toContain(secret);
  });
});
