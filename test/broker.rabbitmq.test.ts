import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { connectAsync, type MqttClient } from "mqtt";
import { eventually } from "./helpers/broker.ts";
import { freePort, type RabbitmqNode, rabbitmqInstalled, startRabbitmq } from "./helpers/rabbitmq.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/** `eventually`, for a check that answers what it found (or undefined meanwhile). */
const found = async <T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> => (await eventually(check, ms, what)) as T;

/**
 * Revocation that reaches live sessions, and presence, end to end (issue #16): one private
 * RabbitMQ node (rabbitmq_mqtt + rabbitmq_auth_backend_http + rabbitmq_management, base port
 * 25800) whose auth backend is the appliance's hooks listener and whose management API is the
 * appliance's MG_CLIENTS_BROKER_API_URL — reached through a TCP relay this test can take down, to
 * play "the management API is away". Real MQTT clients (mqtt.js) on both sides.
 */

const CI = (process.env.CI ?? "") !== "" && process.env.CI !== "false" && process.env.CI !== "0";
if (!rabbitmqInstalled && !CI) console.warn("\n!! SKIPPING the RabbitMQ kick/presence test: RabbitMQ is not installed. With CI=true it fails instead.\n");
const run = rabbitmqInstalled || CI ? describe : describe.skip;
setDefaultTimeout(20_000);

const DOMAIN = randomUUID();
const PRINCIPAL = { username: "mgclients", password: `pw-${randomUUID()}` };
const POLL_MS = 500;
/** The issue's bound: a revoked live session is closed within 2 s. */
const KICK_MS = 2000;

let svc: TestService;
let node: RabbitmqNode;
let relay: Relay;
const open: MqttClient[] = [];

/** A TCP relay to the management API that can be taken down (listener and live sockets) and brought back. */
interface Relay {
  port: number;
  up(): Promise<void>;
  down(): Promise<void>;
}
async function startRelay(target: number): Promise<Relay> {
  const port = await freePort();
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const relay: Relay = {
    port,
    up: () =>
      new Promise((resolve) => {
        server = createServer((inbound) => {
          const outbound = tcpConnect(target, "127.0.0.1");
          sockets.add(inbound).add(outbound);
          inbound.pipe(outbound).pipe(inbound);
          const end = () => {
            inbound.destroy();
            outbound.destroy();
            sockets.delete(inbound);
            sockets.delete(outbound);
          };
          inbound.on("error", end).on("close", end);
          outbound.on("error", end).on("close", end);
        });
        server.listen(port, "127.0.0.1", () => resolve());
      }),
    down: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
  await relay.up();
  return relay;
}

interface Device {
  id: string;
  secret: string;
}

async function api(method: string, path: string, body?: unknown) {
  return svc.api(method, `/${DOMAIN}${path}`, body);
}
async function createClient(name = "dev"): Promise<Device> {
  const r = await api("POST", "/clients", { name });
  expect(r.status).toBe(201);
  return { id: r.json.id, secret: r.json.credentials.secret };
}
async function createChannel(): Promise<string> {
  const r = await api("POST", "/channels", { name: "ch" });
  expect(r.status).toBe(201);
  return r.json.id;
}
async function connectTo(channel: string, client: string, types: string[]) {
  expect((await api("POST", "/channels/connect", { channel_ids: [channel], client_ids: [client], types })).status).toBe(201);
}

function mqtt(username: string, password: string): Promise<MqttClient> {
  return connectAsync({
    host: "127.0.0.1",
    port: node.mqttPort,
    protocolVersion: 4,
    username,
    password,
    clientId: `t-${randomUUID().slice(0, 8)}`,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  }).then((c) => {
    open.push(c);
    return c;
  });
}

/** A device with a live session, and when the broker closed it (if it did). */
interface Live {
  client: MqttClient;
  closedAt(): number | undefined;
}
async function live(d: Device): Promise<Live> {
  const client = await mqtt(d.id, d.secret);
  let at: number | undefined;
  client.on("close", () => (at ??= Date.now()));
  return { client, closedAt: () => at };
}

const topicOf = (channel: string) => `m/${DOMAIN}/c/${channel}/temp`;

/** "acked", or "closed" when RabbitMQ closed the connection instead (its answer to a refused topic). */
function outcome(c: MqttClient, op: () => Promise<unknown>): Promise<"acked" | "closed"> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve("closed");
    const closed = () => resolve("closed");
    c.once("close", closed);
    op().then(
      () => {
        c.off("close", closed);
        resolve(c.connected ? "acked" : "closed");
      },
      () => resolve("closed"),
    );
  });
}
const publish = (c: MqttClient, topic: string) => outcome(c, () => c.publishAsync(topic, "21.5", { qos: 1 }));
const subscribe = (c: MqttClient, filter: string) => outcome(c, () => c.subscribeAsync(filter, { qos: 1 }));

/** The REST call returned at `t0`: the session must be closed within KICK_MS of it. */
async function expectKicked(l: Live, t0: number, what: string) {
  await eventually(() => l.closedAt() !== undefined, KICK_MS + 3000, `${what}: the live session closed`);
  expect(l.closedAt()! - t0).toBeLessThanOrEqual(KICK_MS);
}

const refused = (d: Device, password = d.secret) => expect(mqtt(d.id, password)).rejects.toThrow(/Not authorized|Bad username or password/);

async function presence(id: string) {
  const r = await api("GET", `/clients/${id}/presence`);
  expect(r.status).toBe(200);
  return r.json as { connected: boolean; sessions: number; last_seen?: string; address?: string };
}

run("live sessions on RabbitMQ: kicks and presence (issue #16)", () => {
  beforeAll(async () => {
    const hooksPort = await freePort();
    const mqttPort = await freePort();
    node = await startRabbitmq({
      hooksUrl: `http://127.0.0.1:${hooksPort}`,
      mqttPort,
      basePort: 25800,
      plugins: ["rabbitmq_management"],
      // The management API lists a connection once its stats were emitted (default every 5 s).
      config: ["collect_statistics_interval = 250"],
    });
    relay = await startRelay(node.managementPort!);
    svc = await startTestService(
      {
        MG_CLIENTS_HOOKS_HOST: "127.0.0.1",
        MG_CLIENTS_HOOKS_PORT: String(hooksPort),
        MG_CLIENTS_ES_URL: `mqtt://${PRINCIPAL.username}:${PRINCIPAL.password}@127.0.0.1:${mqttPort}`,
        MG_CLIENTS_BROKER_KIND: "rabbitmq",
        MG_CLIENTS_BROKER_API_URL: `http://${PRINCIPAL.username}:${PRINCIPAL.password}@127.0.0.1:${relay.port}`,
        MG_CLIENTS_BROKER_POLL_INTERVAL: `${POLL_MS}ms`,
      },
      undefined,
      { kickerTuning: { backoff: { baseMs: 100, maxMs: 300 } }, presenceTuning: { flushMs: 100 } },
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(open.map((c) => c.endAsync(true).catch(() => undefined)));
    await svc?.dispose();
    await relay?.down();
    await node?.stop();
  }, 30_000);

  test("the hooks admit the service principal as the management user (administrator tag)", async () => {
    const auth = `Basic ${Buffer.from(`${PRINCIPAL.username}:${PRINCIPAL.password}`).toString("base64")}`;
    const r = await fetch(`${node.managementUrl}/api/whoami`, { headers: { authorization: auth } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { tags: string[] }).tags).toEqual(["administrator"]);
    expect(svc.logs.join("\n")).not.toContain(PRINCIPAL.password);
  });

  test("client disabled: its live session is closed within 2 s, its reconnect refused; a bystander stays", async () => {
    const ch = await createChannel();
    const [dev, bystander] = [await createClient(), await createClient()];
    await connectTo(ch, dev.id, ["publish"]);
    await connectTo(ch, bystander.id, ["subscribe"]);
    const d = await live(dev);
    const b = await live(bystander);
    expect(await subscribe(b.client, topicOf(ch))).toBe("acked");
    expect(await publish(d.client, topicOf(ch))).toBe("acked");
    const r = await api("POST", `/clients/${dev.id}/disable`);
    const t0 = Date.now();
    expect(r.status).toBe(200);
    await expectKicked(d, t0, "disable");
    await refused(dev);
    expect(b.closedAt()).toBeUndefined();
    expect(svc.logs.some((l) => l.includes('"session kicked"') && l.includes(dev.id) && l.includes('"reason":"client.disable"'))).toBe(true);
    expect((await svc.api("GET", "/metrics")).text).toMatch(/broker_kicks_total\{outcome="done"\} [1-9]/);
  });

  test("client deleted: kicked, reconnect refused", async () => {
    const ch = await createChannel();
    const dev = await createClient();
    await connectTo(ch, dev.id, ["subscribe"]);
    const d = await live(dev);
    expect(await subscribe(d.client, topicOf(ch))).toBe("acked");
    expect((await api("DELETE", `/clients/${dev.id}`)).status).toBe(204);
    await expectKicked(d, Date.now(), "delete");
    await refused(dev);
  });

  test("secret changed: kicked, the old secret refused, the new one admitted", async () => {
    const dev = await createClient();
    const d = await live(dev);
    const secret = `new-${randomUUID()}`;
    expect((await api("PATCH", `/clients/${dev.id}/secret`, { secret })).status).toBe(200);
    await expectKicked(d, Date.now(), "secret change");
    await refused(dev);
    await mqtt(dev.id, secret);
  });

  test("connection removed: the publisher is kicked and, reconnected, refused on that channel", async () => {
    const ch = await createChannel();
    const dev = await createClient();
    await connectTo(ch, dev.id, ["publish"]);
    const d = await live(dev);
    expect(await publish(d.client, topicOf(ch))).toBe("acked");
    expect((await api("POST", "/channels/disconnect", { channel_ids: [ch], client_ids: [dev.id], types: ["publish"] })).status).toBe(204);
    await expectKicked(d, Date.now(), "disconnect");
    const again = await mqtt(dev.id, dev.secret);
    expect(await publish(again, topicOf(ch))).toBe("closed");
  });

  test("channel disabled: its subscriber is kicked and cannot subscribe again; another channel's client stays", async () => {
    const [ch, other] = [await createChannel(), await createChannel()];
    const [dev, elsewhere] = [await createClient(), await createClient()];
    await connectTo(ch, dev.id, ["subscribe"]);
    await connectTo(other, elsewhere.id, ["subscribe"]);
    const d = await live(dev);
    const e = await live(elsewhere);
    expect(await subscribe(d.client, topicOf(ch))).toBe("acked");
    expect(await subscribe(e.client, topicOf(other))).toBe("acked");
    expect((await api("POST", `/channels/${ch}/disable`)).status).toBe(200);
    await expectKicked(d, Date.now(), "channel disable");
    const again = await mqtt(dev.id, dev.secret);
    expect(await subscribe(again, topicOf(ch))).toBe("closed");
    expect(e.closedAt()).toBeUndefined();
  });

  test("channel deleted: its publisher is kicked and refused there", async () => {
    const ch = await createChannel();
    const dev = await createClient();
    await connectTo(ch, dev.id, ["publish"]);
    const d = await live(dev);
    expect(await publish(d.client, topicOf(ch))).toBe("acked");
    expect((await api("DELETE", `/channels/${ch}`)).status).toBe(204);
    await expectKicked(d, Date.now(), "channel delete");
    const again = await mqtt(dev.id, dev.secret);
    expect(await publish(again, topicOf(ch))).toBe("closed");
  });

  test("changes that revoke nothing leave the session alone", async () => {
    const ch = await createChannel();
    const dev = await createClient();
    await connectTo(ch, dev.id, ["publish"]);
    const d = await live(dev);
    expect((await api("PATCH", `/clients/${dev.id}`, { name: "renamed" })).status).toBe(200);
    expect((await api("PATCH", `/clients/${dev.id}/tags`, { tags: ["x"] })).status).toBe(200);
    const other = await createClient();
    expect((await api("POST", `/clients/${other.id}/disable`)).status).toBe(200);
    await connectTo(ch, dev.id, ["subscribe"]);
    await Bun.sleep(KICK_MS);
    expect(d.closedAt()).toBeUndefined();
    expect(await publish(d.client, topicOf(ch))).toBe("acked");
  }, 15_000);

  test("presence: connected while connected (from the poll: with its address), false within a poll interval after it left", async () => {
    const dev = await createClient();
    const before = await presence(dev.id);
    expect(before).toEqual({ connected: false, sessions: 0 });
    const d = await live(dev);
    // At once from the authentication, before RabbitMQ lists the connection.
    expect((await presence(dev.id)).connected).toBe(true);
    const listed = await found(
      async () => {
        const p = await presence(dev.id);
        return p.address ? p : undefined;
      },
      10_000,
      "the polled connection (with its address)",
    );
    expect(listed).toMatchObject({ connected: true, sessions: 1 });
    expect(listed.address).toMatch(/^127\.0\.0\.1:\d+$/);
    await eventually(
      async () => {
        const r = await api("GET", "/clients?connected=true&limit=100");
        return (r.json.clients ?? []).some((c: { id: string }) => c.id === dev.id);
      },
      5000,
      "the list filter connected=true",
    );
    expect(((await api("GET", "/clients?connected=false&limit=100")).json.clients ?? []).some((c: { id: string }) => c.id === dev.id)).toBe(false);
    await d.client.endAsync();
    const left = Date.now();
    const gone = await found(
      async () => {
        const p = await presence(dev.id);
        return p.connected ? undefined : p;
      },
      10_000,
      "presence false after leaving",
    );
    // One poll interval, plus the poll's own round trip and the management database's update.
    expect(Date.now() - left).toBeLessThanOrEqual(POLL_MS + 1000);
    expect(gone.sessions).toBe(0);
    expect(Date.parse(gone.last_seen!)).toBeGreaterThan(left - 60_000);
    expect(gone.address).toBe(listed.address);
    expect((await api("GET", "/clients?connected=true&limit=100&status=all")).status).toBe(200);
    expect((await api("GET", "/clients?connected=maybe")).status).toBe(400);
    expect((await api("GET", `/clients/${randomUUID()}/presence`)).status).toBe(404);
  }, 30_000);

  test("presence changes are published as client.presence events", async () => {
    const watcher = await mqtt(PRINCIPAL.username, PRINCIPAL.password);
    const got: { id: string; connected: boolean }[] = [];
    watcher.on("message", (_t, payload) => got.push(JSON.parse(payload.toString())));
    await watcher.subscribeAsync("events/magistrala/client/presence", { qos: 1 });
    const dev = await createClient();
    const d = await live(dev);
    await eventually(() => got.some((e) => e.id === dev.id && e.connected), 10_000, "the connected event");
    // Left once RabbitMQ lists it (else its authentication's tentative session lasts 10 s).
    await eventually(async () => (await presence(dev.id)).address, 10_000, "the polled connection");
    await d.client.endAsync();
    await eventually(() => got.some((e) => e.id === dev.id && !e.connected), 10_000, "the disconnected event");
    expect(got.find((e) => e.id === dev.id)).toMatchObject({ operation: "client.presence", domain: DOMAIN, sessions: 1 });
  }, 30_000);

  test("management API away during a revocation: the REST call is not held up, and the kick happens once it is back", async () => {
    const dev = await createClient();
    const d = await live(dev);
    await relay.down();
    const started = Date.now();
    const r = await api("POST", `/clients/${dev.id}/disable`);
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    await Bun.sleep(1500);
    expect(d.closedAt()).toBeUndefined(); // nobody could kick it
    expect((await svc.api("GET", "/metrics")).text).toMatch(/broker_kicks_pending 1\b/);
    expect((await svc.api("GET", "/metrics")).text).toMatch(/broker_api_up 0\b/);
    await relay.up();
    const back = Date.now();
    await eventually(() => d.closedAt() !== undefined, 10_000, "the kick after the API came back");
    expect(d.closedAt()! - back).toBeLessThanOrEqual(KICK_MS);
    await refused(dev);
    expect((await svc.api("GET", "/metrics")).text).toMatch(/broker_kicks_pending 0\b/);
  }, 30_000);
});
