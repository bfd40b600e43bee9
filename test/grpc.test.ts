import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queryStore } from "./helpers/backend.ts";
import { basic, call, domainToken, type GrpcClients, grpc, grpcClients } from "./helpers/grpc.ts";
import { request, startTestService, type TestService } from "./helpers/service.ts";

const { OK, PERMISSION_DENIED, INTERNAL, UNAUTHENTICATED, NOT_FOUND } = grpc.status;

const ADMIN = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
let svc: TestService;
let g: GrpcClients;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_STANDALONE_ID: ADMIN });
  g = grpcClients(svc.grpcAddress);
});
afterAll(async () => {
  g.close();
  await svc.dispose();
});

let n = 0;
async function device(secret = `secret-${++n}-${crypto.randomUUID()}`, domain = "gdom", body: Record<string, unknown> = {}) {
  const r = await svc.api("POST", `/${domain}/clients`, { credentials: { secret }, ...body });
  expect(r.status).toBe(201);
  return { id: r.json.id as string, secret, domain };
}
async function channel(domain = "gdom", body: Record<string, unknown> = {}) {
  const r = await svc.api("POST", `/${domain}/channels`, body);
  expect(r.status).toBe(201);
  return r.json.id as string;
}
const connect = (domain: string, ch: string, cl: string, types = ["publish", "subscribe"]) =>
  svc.api("POST", `/${domain}/channels/connect`, { channel_ids: [ch], client_ids: [cl], types });
const authn = (token: string) => call(g.clients, "Authenticate", { token });
const authz = (domain: string, client: string, ch: string, type: number, clientType = "client") =>
  call(g.channels, "Authorize", { domain_id: domain, client_id: client, client_type: clientType, channel_id: ch, type });
const codeOf = async (p: Promise<{ code: number }>) => (await p).code;

describe("ClientsService.Authenticate", () => {
  test("both token forms authenticate an enabled client", async () => {
    const d = await device("s3cr3t:with:colons");
    expect(await authn(basic(d.id, d.secret))).toEqual({ code: OK, details: "", value: { authenticated: true, id: d.id } });
    expect(await authn(domainToken(d.domain, d.secret))).toEqual({ code: OK, details: "", value: { authenticated: true, id: d.id } });
  });

  test("well-formed tokens that match nothing are PERMISSION_DENIED", async () => {
    const d = await device();
    const other = await device(undefined, "gdom-other");
    for (const token of [
      basic(d.id, "wrong"),
      basic(crypto.randomUUID(), d.secret),
      basic(other.id, d.secret),
      domainToken("gdom-other", d.secret),
      domainToken(d.domain, "wrong"),
      basic(d.id, ""),
      `Basic${Buffer.from(d.id).toString("base64")}`, // no colon
      Buffer.from(`${d.id}:${d.secret}`).toString("base64"), // no prefix
      "", // empty
    ]) {
      expect(await codeOf(authn(token))).toBe(PERMISSION_DENIED);
    }
  });

  test("tokens that are not base64 after the prefix are refused with INTERNAL", async () => {
    const d = await device();
    for (const token of [
      d.secret,
      `Client ${d.secret}`,
      `Basic ${Buffer.from(`${d.id}:${d.secret}`).toString("base64")}`,
      "Basic!!!",
      `Domain ${d.domain}:${d.secret}`,
    ]) {
      expect(await codeOf(authn(token))).toBe(INTERNAL);
    }
  });

  test("a disabled client is refused; enabled again it authenticates", async () => {
    const d = await device();
    await svc.api("POST", `/${d.domain}/clients/${d.id}/disable`);
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authn(domainToken(d.domain, d.secret)))).toBe(PERMISSION_DENIED);
    await svc.api("POST", `/${d.domain}/clients/${d.id}/enable`);
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(OK);
  });
});

describe("ChannelsService.Authorize", () => {
  test("allows exactly the stored connection", async () => {
    const d = await device();
    const ch = await channel();
    await connect(d.domain, ch, d.id, ["publish"]);
    expect(await authz(d.domain, d.id, ch, 1)).toEqual({ code: OK, details: "", value: { authorized: true } });
    expect(await codeOf(authz(d.domain, d.id, ch, 2))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz("another-domain", d.id, ch, 1))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz(d.domain, d.id, await channel(), 1))).toBe(PERMISSION_DENIED);
  });

  test("type must be 1 or 2 (INTERNAL); client_type must be client or user (else UNAUTHENTICATED)", async () => {
    const d = await device();
    const ch = await channel();
    await connect(d.domain, ch, d.id);
    for (const type of [0, 3, 99]) expect(await codeOf(authz(d.domain, d.id, ch, type))).toBe(INTERNAL);
    for (const ct of ["", "device", "Client", "USER"]) expect(await codeOf(authz(d.domain, d.id, ch, 1, ct))).toBe(UNAUTHENTICATED);
    expect(await codeOf(authz("", d.id, ch, 1, "user"))).toBe(INTERNAL); // a user needs a domain
    expect(await codeOf(authz(d.domain, `${d.domain}_nobody`, ch, 1, "user"))).toBe(PERMISSION_DENIED);
  });

  test("a disabled client or a disabled channel is refused (DESIGN decision 4)", async () => {
    const d = await device();
    const ch = await channel();
    await connect(d.domain, ch, d.id);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(OK);
    await svc.api("POST", `/${d.domain}/channels/${ch}/disable`);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(PERMISSION_DENIED);
    await svc.api("POST", `/${d.domain}/channels/${ch}/enable`);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(OK);
    await svc.api("POST", `/${d.domain}/clients/${d.id}/disable`);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(PERMISSION_DENIED);
    await svc.api("POST", `/${d.domain}/clients/${d.id}/enable`);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(OK);
  });
});

describe('Authorize for users (client_type "user"): channel roles with publish/subscribe', () => {
  const roles = (ch: string) => `/gdom/channels/${ch}/roles`;

  test("a member of a role holding publish may publish, not subscribe; others are refused", async () => {
    const ch = await channel();
    const role = (await svc.api("POST", roles(ch), { role_name: "writers", optional_actions: ["publish"], optional_members: ["user-a"] })).json;
    expect(role.id).toStartWith("channel_");
    expect(await authz("gdom", "gdom_user-a", ch, 1, "user")).toEqual({ code: OK, details: "", value: { authorized: true } });
    expect(await codeOf(authz("gdom", "gdom_user-a", ch, 2, "user"))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz("gdom", "gdom_user-b", ch, 1, "user"))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz("other", "other_user-a", ch, 1, "user"))).toBe(PERMISSION_DENIED); // the role is in gdom
    expect(await codeOf(authz("gdom", "user-a", ch, 1, "user"))).toBe(PERMISSION_DENIED); // not domain-scoped
  });

  test("the standalone super-admin may do anything, as a bare or a domain-scoped id", async () => {
    const ch = await channel();
    expect(await codeOf(authz("gdom", ADMIN, ch, 2, "user"))).toBe(OK);
    expect(await codeOf(authz("gdom", `gdom_${ADMIN}`, ch, 1, "user"))).toBe(OK);
  });

  test("refused on the next call after the member or the action is removed (answers were cached)", async () => {
    const ch = await channel();
    const r = (await svc.api("POST", roles(ch), { role_name: "rw", optional_actions: ["publish", "subscribe"], optional_members: ["u1", "u2"] })).json;
    for (let i = 0; i < 2; i++) {
      expect(await codeOf(authz("gdom", "gdom_u1", ch, 1, "user"))).toBe(OK);
      expect(await codeOf(authz("gdom", "gdom_u2", ch, 2, "user"))).toBe(OK);
    }
    await svc.api("POST", `${roles(ch)}/${r.id}/members/delete`, { members: ["u1"] });
    expect(await codeOf(authz("gdom", "gdom_u1", ch, 1, "user"))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz("gdom", "gdom_u2", ch, 2, "user"))).toBe(OK);
    await svc.api("POST", `${roles(ch)}/${r.id}/actions/delete`, { actions: ["subscribe"] });
    expect(await codeOf(authz("gdom", "gdom_u2", ch, 2, "user"))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz("gdom", "gdom_u2", ch, 1, "user"))).toBe(OK);
    // a cached denial is lifted when the action comes back, and all goes when the role goes
    await svc.api("POST", `${roles(ch)}/${r.id}/actions`, { actions: ["subscribe"] });
    expect(await codeOf(authz("gdom", "gdom_u2", ch, 2, "user"))).toBe(OK);
    await svc.api("DELETE", `${roles(ch)}/${r.id}`);
    expect(await codeOf(authz("gdom", "gdom_u2", ch, 1, "user"))).toBe(PERMISSION_DENIED);
  });

  test("the creator's built-in admin role on a channel holds publish and subscribe", async () => {
    const ch = await channel();
    const members = (await svc.api("GET", `${roles(ch)}/members`)).json;
    expect(members.members.map((m: any) => m.member_id)).toEqual([ADMIN]);
    expect(await codeOf(authz("gdom", `gdom_${ADMIN}`, ch, 2, "user"))).toBe(OK);
  });
});

describe("revocation right after a cached success is refused on the next call", () => {
  test("disable", async () => {
    const d = await device();
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(OK);
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(OK); // cached now
    await svc.api("POST", `/${d.domain}/clients/${d.id}/disable`);
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(PERMISSION_DENIED);
  });

  test("secret change: the old secret stops, in both forms; the new one works", async () => {
    const d = await device();
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(OK);
    expect(await codeOf(authn(domainToken(d.domain, d.secret)))).toBe(OK);
    await svc.api("PATCH", `/${d.domain}/clients/${d.id}/secret`, { secret: `rotated-${d.secret}` });
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authn(domainToken(d.domain, d.secret)))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authn(basic(d.id, `rotated-${d.secret}`)))).toBe(OK);
  });

  test("disconnect", async () => {
    const d = await device();
    const ch = await channel();
    await connect(d.domain, ch, d.id);
    expect(await codeOf(authz(d.domain, d.id, ch, 2))).toBe(OK);
    await svc.api("POST", `/${d.domain}/channels/${ch}/disconnect`, { client_ids: [d.id], types: ["subscribe"] });
    expect(await codeOf(authz(d.domain, d.id, ch, 2))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(OK);
  });

  test("delete of the client, delete of the channel", async () => {
    const d = await device();
    const ch = await channel();
    const ch2 = await channel();
    await connect(d.domain, ch, d.id);
    await connect(d.domain, ch2, d.id);
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(OK);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(OK);
    expect(await codeOf(authz(d.domain, d.id, ch2, 1))).toBe(OK);
    await svc.api("DELETE", `/${d.domain}/channels/${ch2}`);
    expect(await codeOf(authz(d.domain, d.id, ch2, 1))).toBe(PERMISSION_DENIED);
    await svc.api("DELETE", `/${d.domain}/clients/${d.id}`);
    expect(await codeOf(authn(basic(d.id, d.secret)))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(PERMISSION_DENIED);
  });

  test("a cached denial is lifted by connect", async () => {
    const d = await device();
    const ch = await channel();
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(PERMISSION_DENIED);
    await connect(d.domain, ch, d.id, ["publish"]);
    expect(await codeOf(authz(d.domain, d.id, ch, 1))).toBe(OK);
  });

  test("the cache really answers: hits are counted in /metrics", async () => {
    const d = await device();
    const hits = async () => {
      const text = (await request(svc.url, "GET", "/metrics")).text;
      return Number(/access_cache_requests_total\{cache="authn",result="hit"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await hits();
    for (let i = 0; i < 5; i++) await authn(basic(d.id, d.secret));
    expect((await hits()) - before).toBe(4);
  });
});

describe("the other RPCs", () => {
  test("RetrieveEntity on both services: any status; unknown is INTERNAL entity not found", async () => {
    const d = await device(undefined, "gdom", { status: "disabled", parent_group_id: "pg-1" });
    expect(await call(g.clients, "RetrieveEntity", { id: d.id })).toEqual({
      code: OK,
      details: "",
      value: { entity: { id: d.id, domain_id: "gdom", parent_group_id: "pg-1", status: 1 } },
    });
    const ch = await channel("gdom", { id: "custom-grpc-ch" });
    expect((await call(g.channels, "RetrieveEntity", { id: ch })).value).toEqual({ entity: { id: ch, domain_id: "gdom", parent_group_id: "", status: 0 } });
    for (const client of [g.clients, g.channels])
      expect(await call(client, "RetrieveEntity", { id: "nope" })).toEqual({ code: INTERNAL, details: "entity not found" });
  });

  test("RetrieveEntities: only enabled ones, oldest first; empty ids give an all-zero answer", async () => {
    const a = await device();
    const b = await device(undefined, "gdom2");
    const c = await device(undefined, "gdom", { status: "disabled" });
    const r = await call(g.clients, "RetrieveEntities", { ids: [b.id, c.id, a.id, "unknown"] });
    expect(r.value).toEqual({
      total: 2,
      limit: 2,
      offset: 0,
      entities: [
        { id: a.id, domain_id: "gdom", parent_group_id: "", status: 0 },
        { id: b.id, domain_id: "gdom2", parent_group_id: "", status: 0 },
      ],
    });
    expect((await call(g.clients, "RetrieveEntities", { ids: [] })).value).toEqual({ total: 0, limit: 0, offset: 0, entities: [] });
  });

  test("AddConnections and RemoveConnections change what Authorize answers", async () => {
    const d = await device();
    const ch = await channel();
    const conn = { client_id: d.id, channel_id: ch, domain_id: "gdom", type: 1 };
    expect(await codeOf(authz("gdom", d.id, ch, 1))).toBe(PERMISSION_DENIED);
    expect(await call(g.clients, "AddConnections", { connections: [conn] })).toEqual({ code: OK, details: "", value: { ok: true } });
    expect(await codeOf(authz("gdom", d.id, ch, 1))).toBe(OK);
    expect((await svc.api("GET", `/gdom/clients?channel=${ch}`)).json.clients[0].connection_types).toEqual(["Publish"]);
    expect(await codeOf(call(g.clients, "AddConnections", { connections: [conn] }))).toBe(INTERNAL); // duplicate
    expect(await codeOf(call(g.clients, "AddConnections", { connections: [{ ...conn, type: 3 }] }))).toBe(INTERNAL);
    expect(await codeOf(call(g.clients, "AddConnections", { connections: [{ ...conn, type: 2, client_id: crypto.randomUUID() }] }))).toBe(INTERNAL);
    expect(await codeOf(call(g.clients, "AddConnections", { connections: [{ ...conn, type: 2, domain_id: "elsewhere" }] }))).toBe(INTERNAL);
    expect(await call(g.clients, "RemoveConnections", { connections: [conn, { ...conn, type: 2 }] })).toEqual({ code: OK, details: "", value: { ok: true } });
    expect(await codeOf(authz("gdom", d.id, ch, 1))).toBe(PERMISSION_DENIED);
    expect(await codeOf(call(g.clients, "RemoveConnections", { connections: [{ ...conn, type: 0 }] }))).toBe(INTERNAL);
  });

  test("RemoveChannelConnections and RemoveClientConnections", async () => {
    const d = await device();
    const ch = await channel();
    const ch2 = await channel();
    await connect("gdom", ch, d.id);
    await connect("gdom", ch2, d.id);
    expect(await codeOf(authz("gdom", d.id, ch, 1))).toBe(OK);
    expect(await call(g.clients, "RemoveChannelConnections", { channel_id: ch })).toEqual({ code: OK, details: "", value: {} });
    expect(await codeOf(authz("gdom", d.id, ch, 1))).toBe(PERMISSION_DENIED);
    expect(await codeOf(authz("gdom", d.id, ch2, 2))).toBe(OK);
    expect(await call(g.channels, "RemoveClientConnections", { client_id: d.id })).toEqual({ code: OK, details: "", value: {} });
    expect(await codeOf(authz("gdom", d.id, ch2, 2))).toBe(PERMISSION_DENIED);
  });

  test("UnsetParentGroupFromClient / FromChannels clear the parent everywhere it is set", async () => {
    const a = await device(undefined, "gdom", { parent_group_id: "doomed-group" });
    const b = await device(undefined, "gdom3", { parent_group_id: "doomed-group" });
    const keep = await device(undefined, "gdom", { parent_group_id: "other-group" });
    const ch = await channel("gdom", { parent_group_id: "doomed-group" });
    expect(await call(g.clients, "UnsetParentGroupFromClient", { parent_group_id: "doomed-group" })).toEqual({ code: OK, details: "", value: {} });
    expect((await svc.api("GET", `/gdom/clients/${a.id}`)).json.parent_group_id).toBeUndefined();
    expect((await svc.api("GET", `/gdom3/clients/${b.id}`)).json.parent_group_id).toBeUndefined();
    expect((await svc.api("GET", `/gdom/clients/${keep.id}`)).json.parent_group_id).toBe("other-group");
    expect((await svc.api("GET", `/gdom/channels/${ch}`)).json.parent_group_id).toBe("doomed-group");
    expect(await codeOf(call(g.channels, "UnsetParentGroupFromChannels", { parent_group_id: "doomed-group" }))).toBe(OK);
    expect((await svc.api("GET", `/gdom/channels/${ch}`)).json.parent_group_id).toBeUndefined();
  });

  test("RetrieveIDByRoute", async () => {
    const ch = await channel("gdom", { route: "grpc_route", status: "disabled" });
    expect(await call(g.channels, "RetrieveIDByRoute", { route: "grpc_route", domain_id: "gdom" })).toEqual({
      code: OK,
      details: "",
      value: { entity: { id: ch, domain_id: "", parent_group_id: "", status: 0 } },
    });
    expect(await call(g.channels, "RetrieveIDByRoute", { route: "grpc_route", domain_id: "other" })).toEqual({ code: INTERNAL, details: "entity not found" });
    expect(await call(g.channels, "RetrieveIDByRoute", { route: "", domain_id: "gdom" })).toEqual({ code: INTERNAL, details: "missing route" });
    expect(await call(g.channels, "RetrieveIDByRoute", { route: "grpc_route", domain_id: "" })).toEqual({ code: INTERNAL, details: "missing domainID" });
  });

  test("the bookkeeping calls emit events with the rows' domain and a fresh request id", async () => {
    const d = await device(undefined, "gev");
    const ch = await channel("gev");
    await call(g.clients, "AddConnections", { connections: [{ client_id: d.id, channel_id: ch, domain_id: "gev", type: 2 }] });
    await call(g.channels, "RemoveClientConnections", { client_id: d.id });
    const rows = await queryStore<{ payload: string }>(svc.store, "SELECT payload FROM outbox ORDER BY seq");
    const events = rows.map((r) => JSON.parse(r.payload)).filter((e) => e.domain === "gev" && e.operation.startsWith("channel.") && e.channel_ids);
    expect(events.map((e) => [e.operation, e.channel_ids, e.client_ids, e.types])).toEqual([
      ["channel.connect", [ch], [d.id], ["Subscribe"]],
      ["channel.disconnect", [ch], [d.id], ["Subscribe"]],
    ]);
    expect(events[0].request_id).not.toBe(events[1].request_id);
  });

  test('grpc.health.v1.Health: clients, channels and "" are SERVING; an unknown name is NOT_FOUND', async () => {
    for (const service of ["", "clients", "channels"])
      expect(await call(g.health, "Check", { service })).toEqual({ code: OK, details: "", value: { status: "SERVING" } });
    expect(await codeOf(call(g.health, "Check", { service: "nope" }))).toBe(NOT_FOUND);
  });
});
