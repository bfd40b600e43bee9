import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queryStore } from "./helpers/backend.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

const MALFORMED = "request body is not a valid JSON, expecting a valid JSON";
const expectError = (r: { status: number; json: any }, status: number, message: string) =>
  expect({ status: r.status, body: r.json }).toEqual({ status, body: { message } });

let n = 0;
/** A fresh domain with `clients` clients and `channels` channels. */
async function fixture(clients = 2, channels = 2, domain = `cx${++n}`) {
  const cl = (
    await svc.api(
      "POST",
      `/${domain}/clients/bulk`,
      Array.from({ length: clients }, (_, i) => ({ name: `c${i}` })),
    )
  ).json.clients.map((c: any) => c.id as string);
  const ch: string[] = [];
  if (channels > 0)
    ch.push(
      ...(
        await svc.api(
          "POST",
          `/${domain}/channels/bulk`,
          Array.from({ length: channels }, (_, i) => ({ name: `ch${i}` })),
        )
      ).json.channels.map((c: any) => c.id as string),
    );
  return { d: domain, cl, ch };
}

/** The stored connection rows of a domain, read straight from the database (either backend). */
async function rows(domain: string): Promise<string[]> {
  const found = await queryStore<{ channel_id: string; client_id: string; type: number }>(
    svc.store,
    "SELECT channel_id, client_id, type FROM connections WHERE domain_id = ? ORDER BY 1, 2, 3",
    [domain],
  );
  return found.map((r) => `${r.channel_id}|${r.client_id}|${r.type}`);
}

async function outbox(domain: string): Promise<any[]> {
  const found = await queryStore<{ payload: string }>(svc.store, "SELECT payload FROM outbox ORDER BY seq");
  return found.map((r) => JSON.parse(r.payload)).filter((p) => p.domain === domain);
}

const connect = (d: string, channel_ids: string[], client_ids: string[], types: unknown[]) =>
  svc.api("POST", `/${d}/channels/connect`, { channel_ids, client_ids, types });
const disconnect = (d: string, channel_ids: string[], client_ids: string[], types: unknown[]) =>
  svc.api("POST", `/${d}/channels/disconnect`, { channel_ids, client_ids, types });

describe("connect", () => {
  test("connects every channel × client × type, 201 with an empty body, one event", async () => {
    const { d, cl, ch } = await fixture();
    const r = await connect(d, ch, cl, ["publish", "SUBSCRIBE"]);
    expect({ status: r.status, text: r.text }).toEqual({ status: 201, text: "" });
    expect(await rows(d)).toHaveLength(8);
    const events = (await outbox(d)).filter((e) => e.operation === "channel.connect");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ channel_ids: ch, client_ids: cl, types: ["Publish", "Subscribe"], request_id: r.headers.get("x-request-id") });
  });

  test("both types on one pair, through the per-channel route", async () => {
    const { d, cl, ch } = await fixture(1, 1);
    expect((await svc.api("POST", `/${d}/channels/${ch[0]}/connect`, { client_ids: cl, types: ["publish"] })).status).toBe(201);
    expect((await svc.api("POST", `/${d}/channels/${ch[0]}/connect`, { client_ids: cl, types: ["subscribe"] })).status).toBe(201);
    expect(await rows(d)).toEqual([`${ch[0]}|${cl[0]}|1`, `${ch[0]}|${cl[0]}|2`]);
  });

  test("all or nothing: one existing tuple is 400 and nothing else is added", async () => {
    const { d, cl, ch } = await fixture(2, 1);
    expect((await connect(d, ch, [cl[0]!], ["publish"])).status).toBe(201);
    expectError(await connect(d, ch, cl, ["publish"]), 400, "entity already exists");
    expect(await rows(d)).toEqual([`${ch[0]}|${cl[0]}|1`]);
  });

  test("all or nothing: a disabled client, a disabled channel, foreign entities are 422; a missing channel 404, a missing client 422", async () => {
    const { d, cl, ch } = await fixture(2, 2);
    const other = await fixture(1, 1);
    await svc.api("POST", `/${d}/clients/${cl[1]}/disable`);
    expectError(await connect(d, [ch[0]!], cl, ["publish"]), 422, "failed to create entity");
    await svc.api("POST", `/${d}/channels/${ch[1]}/disable`);
    expectError(await connect(d, [ch[1]!], [cl[0]!], ["publish"]), 422, "failed to create entity");
    expectError(await connect(d, [ch[0]!, other.ch[0]!], [cl[0]!], ["publish"]), 422, "failed to create entity");
    expectError(await connect(d, [ch[0]!], [cl[0]!, other.cl[0]!], ["publish"]), 422, "failed to create entity");
    expectError(await connect(d, [ch[0]!, "no-such-channel"], [cl[0]!], ["publish"]), 404, "entity not found");
    expectError(await connect(d, [ch[0]!], [cl[0]!, crypto.randomUUID()], ["publish"]), 422, "failed to create entity");
    expect(await rows(d)).toEqual([]);
    expect((await outbox(d)).filter((e) => e.operation === "channel.connect")).toEqual([]);
  });

  test("the same tuple twice in one request is 422", async () => {
    const { d, cl, ch } = await fixture(1, 1);
    expectError(await connect(d, ch, [cl[0]!, cl[0]!], ["publish"]), 422, "failed to create entity");
    expectError(await connect(d, ch, cl, ["publish", "Publish"]), 422, "failed to create entity");
    expect(await rows(d)).toEqual([]);
  });

  test("validation and decoding messages", async () => {
    const { d, cl, ch } = await fixture(1, 1);
    expectError(await connect(d, [], cl, ["publish"]), 400, "missing entity id");
    expectError(await connect(d, [" "], cl, ["publish"]), 400, "missing channel id");
    expectError(await connect(d, ch, [], ["publish"]), 400, "missing entity id");
    expectError(await connect(d, ch, [""], ["publish"]), 400, "missing channel id");
    expectError(await connect(d, ch, cl, []), 400, "missing connection type");
    expectError(await svc.api("POST", `/${d}/channels/connect`, { channel_ids: ch, client_ids: cl }), 400, "missing connection type");
    expectError(await connect(d, ch, cl, ["read"]), 400, MALFORMED);
    expectError(await connect(d, ch, cl, [1]), 400, MALFORMED);
    expectError(await connect(d, [], [], ["bogus"]), 400, MALFORMED); // decoding before validation
    expectError(
      await svc.api("POST", `/${d}/channels/${ch[0]}/connect`, { client_ids: ["not-a-uuid"], types: ["publish"] }),
      400,
      "invalid id format provided",
    );
    expectError(await svc.api("POST", `/${d}/channels/${ch[0]}/connect`, { client_ids: [], types: ["publish"] }), 400, "missing entity id");
    expectError(await svc.api("POST", `/${d}/channels/connect`, "{}", { "content-type": "text/plain" }), 415, "unsupported content type");
    expect(await rows(d)).toEqual([]);
  });

  test("1,000 clients × 1 channel in one request", async () => {
    const { d, cl, ch } = await fixture(1000, 1);
    const t0 = performance.now();
    const r = await connect(d, ch, cl, ["publish"]);
    const ms = performance.now() - t0;
    expect(r.status).toBe(201);
    expect(await rows(d)).toHaveLength(1000);
    const page = await svc.api("GET", `/${d}/clients?channel=${ch[0]}&only_total=true`);
    expect(page.json.total).toBe(1000);
    console.log(`bulk connect of 1,000 tuples: ${ms.toFixed(0)} ms`);
  });
});

describe("disconnect", () => {
  test("removes the listed tuples, 204; absent tuples are fine; one event as requested", async () => {
    const { d, cl, ch } = await fixture(2, 1);
    await connect(d, ch, cl, ["publish", "subscribe"]);
    const r = await disconnect(d, ch, [cl[0]!], ["publish"]);
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: "" });
    expect(await rows(d)).toEqual([`${ch[0]}|${cl[0]}|2`, `${ch[0]}|${cl[1]}|1`, `${ch[0]}|${cl[1]}|2`].sort());
    expect((await disconnect(d, ch, [cl[0]!], ["publish"])).status).toBe(204);
    const events = (await outbox(d)).filter((e) => e.operation === "channel.disconnect");
    expect(events.map((e) => [e.channel_ids, e.client_ids, e.types])).toEqual([
      [ch, [cl[0]], ["Publish"]],
      [ch, [cl[0]], ["Publish"]],
    ]);
  });

  test("a channel with a custom non-UUID id can be disconnected, on both routes", async () => {
    const { d, cl } = await fixture(1, 0);
    await svc.api("POST", `/${d}/channels`, { id: "kitchen-temp" });
    await connect(d, ["kitchen-temp"], cl, ["publish", "subscribe"]);
    expect((await disconnect(d, ["kitchen-temp"], cl, ["publish"])).status).toBe(204);
    expect((await svc.api("POST", `/${d}/channels/kitchen-temp/disconnect`, { client_ids: cl, types: ["subscribe"] })).status).toBe(204);
    expect(await rows(d)).toEqual([]);
  });

  test("errors: missing channel 404, foreign channel or client 422, non-UUID client 400; status is not checked", async () => {
    const { d, cl, ch } = await fixture(1, 1);
    const other = await fixture(1, 1);
    await connect(d, ch, cl, ["publish"]);
    expectError(await disconnect(d, ["nope"], cl, ["publish"]), 404, "entity not found");
    expectError(await disconnect(d, [other.ch[0]!], cl, ["publish"]), 422, "failed to remove entity");
    expectError(await disconnect(d, ch, [other.cl[0]!], ["publish"]), 422, "failed to remove entity");
    expectError(await disconnect(d, ch, [crypto.randomUUID()], ["publish"]), 422, "failed to remove entity");
    expectError(await disconnect(d, ch, ["not-a-uuid"], ["publish"]), 400, "invalid id format provided");
    expectError(await disconnect(d, ch, cl, []), 400, "missing connection type");
    expectError(await disconnect(d, [], cl, ["publish"]), 400, "missing entity id");
    await svc.api("POST", `/${d}/clients/${cl[0]}/disable`);
    await svc.api("POST", `/${d}/channels/${ch[0]}/disable`);
    expect((await disconnect(d, ch, cl, ["publish"])).status).toBe(204);
    expect(await rows(d)).toEqual([]);
  });
});

describe("connection-aware lists", () => {
  test("clients of a channel and channels of a client carry connection_types", async () => {
    const { d, cl, ch } = await fixture(3, 2);
    await connect(d, [ch[0]!], [cl[0]!, cl[1]!], ["publish"]);
    await connect(d, [ch[0]!], [cl[0]!], ["subscribe"]);
    await connect(d, [ch[1]!], [cl[0]!], ["subscribe"]);

    const clientsOf = await svc.api("GET", `/${d}/clients?channel=${ch[0]}&order=name&dir=asc`);
    expect(clientsOf.json.total).toBe(2);
    expect(clientsOf.json.clients.map((c: any) => [c.name, c.connection_types])).toEqual([
      ["c0", ["Publish", "Subscribe"]],
      ["c1", ["Publish"]],
    ]);
    const subscribers = await svc.api("GET", `/${d}/clients?channel=${ch[0]}&connection_type=Subscribe`);
    expect(subscribers.json.clients.map((c: any) => c.name)).toEqual(["c0"]);

    const channelsOf = await svc.api("GET", `/${d}/channels?client=${cl[0]}&order=name&dir=asc`);
    expect(channelsOf.json.channels.map((c: any) => [c.name, c.connection_types])).toEqual([
      ["ch0", ["Publish", "Subscribe"]],
      ["ch1", ["Subscribe"]],
    ]);
    const publishOnly = await svc.api("GET", `/${d}/channels?client=${cl[0]}&connection_type=PUBLISH`);
    expect(publishOnly.json.channels.map((c: any) => c.name)).toEqual(["ch0"]);
    expect((await svc.api("GET", `/${d}/channels?client=${cl[2]}`)).json).toEqual({ limit: 10, total: 0 });

    // without the filter there is no connection_types key
    expect((await svc.api("GET", `/${d}/clients`)).json.clients.every((c: any) => !("connection_types" in c))).toBe(true);
  });
});

describe("delete cascades", () => {
  test("deleting a client removes its connections in the same transaction, and the events say so", async () => {
    const { d, cl, ch } = await fixture(2, 2);
    await connect(d, ch, cl, ["publish"]);
    await connect(d, [ch[0]!], [cl[0]!], ["subscribe"]);
    const r = await svc.api("DELETE", `/${d}/clients/${cl[0]}`);
    expect(r.status).toBe(204);
    expect(await rows(d)).toEqual([`${ch[0]}|${cl[1]}|1`, `${ch[1]}|${cl[1]}|1`].sort());
    const mine = (await outbox(d)).filter((e) => e.request_id === r.headers.get("x-request-id"));
    expect(mine.map((e) => [e.operation, e.channel_ids, e.client_ids, e.types]).sort()).toEqual(
      [
        ["channel.disconnect", [ch[0]], [cl[0]], ["Publish"]],
        ["channel.disconnect", [ch[0]], [cl[0]], ["Subscribe"]],
        ["channel.disconnect", [ch[1]], [cl[0]], ["Publish"]],
        ["client.remove", undefined, undefined, undefined],
      ].sort() as any,
    );
  });

  test("deleting a channel removes its connections and says so", async () => {
    const { d, cl, ch } = await fixture(2, 2);
    await connect(d, ch, cl, ["subscribe"]);
    const r = await svc.api("DELETE", `/${d}/channels/${ch[0]}`);
    expect(r.status).toBe(204);
    expect(await rows(d)).toEqual([`${ch[1]}|${cl[0]}|2`, `${ch[1]}|${cl[1]}|2`].sort());
    const mine = (await outbox(d)).filter((e) => e.request_id === r.headers.get("x-request-id"));
    expect(mine.map((e) => e.operation)).toEqual(["channel.disconnect", "channel.remove"]);
    expect(mine[0]).toMatchObject({ channel_ids: [ch[0]], types: ["Subscribe"] });
    // The clients as a set: their order is the database's row order (not promised on Postgres).
    expect([...mine[0]!.client_ids].sort()).toEqual([...cl].sort());
    expect((await svc.api("GET", `/${d}/clients?channel=${ch[0]}`)).json.total).toBe(0);
  });
});
