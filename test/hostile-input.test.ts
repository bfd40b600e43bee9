import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { loadConfig, parseSize } from "../src/config/config.ts";
import { MAX_BULK, MAX_CONNECTIONS } from "../src/domain/limits.ts";
import { queryStore } from "./helpers/backend.ts";
import { call, type GrpcClients, grpc, grpcClients } from "./helpers/grpc.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * Hostile input at the HTTP and gRPC edges (issue 12, items 2–5, 12, 14): answered with the
 * contract's 4xx (or its deny), alike on SQLite and Postgres, and never stored in part.
 */

const MALFORMED = "request body is not a valid JSON, expecting a valid JSON";
const MAX_BODY = 64 * 1024;

let svc: TestService;
let g: GrpcClients;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_HTTP_MAX_BODY: String(MAX_BODY) });
  g = grpcClients(svc.grpcAddress);
});
afterAll(async () => {
  g.close();
  await svc.dispose();
});

const count = async (table: string) => Number((await queryStore(svc.store, `SELECT count(*) AS n FROM ${table}`))[0]!.n);

/** Sends raw bytes on a new connection and resolves with what came back once the server answered (or closed). */
function raw(bytes: string | Buffer, port: number, wait: (text: string) => boolean = (t) => t.includes("\r\n\r\n")): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const sock = connect(port, "127.0.0.1", () => sock.write(bytes));
    sock.on("data", (d) => {
      out += d.toString("latin1");
      if (wait(out)) {
        sock.destroy();
        resolve(out);
      }
    });
    sock.on("close", () => resolve(out));
    sock.on("error", () => resolve(out));
  });
}
const port = () => Number(new URL(svc.url).port);
const auth = () => `Authorization: Bearer ${svc.token}\r\n`;
/** The complete answer of a raw request: headers plus a body of its Content-Length. */
const answered = (t: string) => {
  const end = t.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const len = /content-length: (\d+)/i.exec(t.slice(0, end));
  return t.length >= end + 4 + Number(len?.[1] ?? 0);
};

describe("nesting depth (item 3)", () => {
  const nested = (depth: number, inner = "1") => "[".repeat(depth) + inner + "]".repeat(depth);
  test("a deeply nested body is 400 before validation, on every JSON route", async () => {
    const before = await count("clients");
    for (const depth of [33, 20_000 /* 39 KiB: blocked for seconds */, 30_000]) {
      const r = await svc.api("POST", "/hd/clients/bulk", nested(depth));
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ message: MALFORMED });
    }
    const deep = `{"name":"x","metadata":${'{"a":'.repeat(40)}1${"}".repeat(40)}}`;
    expect((await svc.api("POST", "/hd/clients", deep)).status).toBe(400);
    expect((await svc.api("POST", "/hd/channels", deep)).status).toBe(400);
    expect(await count("clients")).toBe(before);
  });

  test("32 levels are fine; the 33rd is refused", async () => {
    const meta = (levels: number) => JSON.parse(`${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`);
    // The body object is level 1, metadata's levels come below it.
    expect((await svc.api("POST", "/hd/clients", { metadata: meta(31) })).status).toBe(201);
    expect((await svc.api("POST", "/hd/clients", { metadata: meta(32) })).status).toBe(400);
    expect((await svc.api("POST", "/hd/clients/bulk", [{ metadata: meta(30) }])).status).toBe(200);
    expect((await svc.api("POST", "/hd/clients/bulk", [{ metadata: meta(31) }])).status).toBe(400);
  });

  test("a metadata filter has at most 8 levels and 64 values (SQLite's expression limit; alike on Postgres)", async () => {
    const meta = (levels: number, leaf: unknown = 1): unknown => (levels === 0 ? leaf : { a: meta(levels - 1, leaf) });
    const q = (m: unknown) => svc.api("GET", `/hd/clients?metadata=${encodeURIComponent(JSON.stringify(m))}`);
    const values = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect((await q(meta(7, values(56)))).status).toBe(200); // 8 levels, 64 values
    for (const m of [meta(9), meta(32), meta(1, values(64)), { ...Object.fromEntries(values(64).map((i) => [`k${i}`, i])) }]) {
      const r = await q(m);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ message: "invalid query parameters" });
    }
  });

  test("HTTP and gRPC keep answering while a maximal nested body is refused", async () => {
    const body = nested(MAX_BODY / 2 - 1);
    const [r, authn] = await Promise.all([svc.api("POST", "/hd/clients", body), call(g.clients, "Authenticate", { token: "Basicbm9wZTpub3Bl" })]);
    expect(r.status).toBe(400);
    expect(authn.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await svc.api("GET", "/health")).status).toBe(200);
  });
});

describe("request body limit (item 4)", () => {
  test("MG_CLIENTS_HTTP_MAX_BODY: default 1 MiB, sizes with units, bad values listed at start-up", () => {
    expect(loadConfig({}).http.maxBodyBytes).toBe(1 << 20);
    expect(loadConfig({ MG_CLIENTS_HTTP_MAX_BODY: "512KiB" }).http.maxBodyBytes).toBe(512 * 1024);
    expect(parseSize("2MiB")).toBe(2 << 20);
    expect(parseSize("1500")).toBe(1500);
    expect(parseSize("1 MB")).toBe(1_000_000);
    expect(parseSize("lots")).toBeUndefined();
    for (const bad of ["lots", "10", "2GiB", "-1"])
      expect(() => loadConfig({ MG_CLIENTS_HTTP_MAX_BODY: bad })).toThrow(`MG_CLIENTS_HTTP_MAX_BODY: "${bad}" is not a size from 1KiB to 1GiB`);
  });

  test("a body above the limit is 413 with a message and nothing is created", async () => {
    const before = await count("clients");
    const r = await svc.api("POST", "/hd/clients", { name: "big", metadata: { blob: "x".repeat(MAX_BODY) } });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ message: "request body too large" });
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(await count("clients")).toBe(before);
    // At the limit it is read.
    const fits = JSON.stringify({ name: "fits", metadata: { blob: "x".repeat(MAX_BODY - 100) } });
    expect((await svc.api("POST", "/hd/clients", fits)).status).toBe(201);
  });

  test("a Content-Length above the limit is answered before the body is sent", async () => {
    const head = `POST /hd/clients HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: ${100 * MAX_BODY}\r\n\r\n{"name":`;
    const out = await raw(head, port(), answered); // the rest of the body never comes
    expect(out).toStartWith("HTTP/1.1 413");
    expect(out).toContain('{"message":"request body too large"}');
  });

  test("a chunked body is cut off at the limit, without waiting for its end", async () => {
    const chunk = "x".repeat(16 * 1024);
    let req = `POST /hd/clients HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    req += `${(10).toString(16)}\r\n{"name":"x\r\n`;
    for (let i = 0; i < 6; i++) req += `${chunk.length.toString(16)}\r\n${chunk}\r\n`; // 96 KiB, never terminated
    const out = await raw(req, port(), answered);
    expect(out).toStartWith("HTTP/1.1 413");
    expect(out).toContain('{"message":"request body too large"}');
    // A chunked body within the limit is read whole.
    const ok = await fetch(`${svc.url}/hd/clients`, {
      method: "POST",
      headers: { authorization: `Bearer ${svc.token}`, "content-type": "application/json" },
      body: new Blob(['{"name":"chunked"}']).stream(),
    });
    expect(ok.status).toBe(201);
  });

  test(`bulk create is at most ${MAX_BULK} entities; connect at most ${MAX_CONNECTIONS} tuples (400, nothing written)`, async () => {
    const big = await startTestService({ MG_CLIENTS_HTTP_MAX_BODY: "4MiB" });
    try {
      const many = JSON.stringify(Array.from({ length: MAX_BULK + 1 }, () => ({})));
      for (const path of ["/hb/clients/bulk", "/hb/channels/bulk"]) {
        const r = await big.api("POST", path, many);
        expect(r.status).toBe(400);
        expect(r.json.message).toBe("too many entities in one request (at most 10000)");
      }
      const ids = (n: number, c: string) => Array.from({ length: n }, (_, i) => `${c}${"0".repeat(7)}-0000-4000-8000-${String(i).padStart(12, "0")}`);
      for (const path of ["/hb/channels/connect", "/hb/channels/disconnect"]) {
        const r = await big.api("POST", path, { channel_ids: ids(101, "a"), client_ids: ids(50, "b"), types: ["publish", "subscribe"] });
        expect(r.status).toBe(400);
        expect(r.json.message).toBe("too many connections in one request (channels × clients × types at most 10000)");
      }
      expect(Number((await queryStore(big.store, "SELECT count(*) AS n FROM clients"))[0]!.n)).toBe(0);
    } finally {
      await big.dispose();
    }
  });
});

describe("NUL, lone surrogates and out-of-range numbers (items 5, 12)", () => {
  test("in a path segment: 400 invalid id format provided", async () => {
    for (const path of ["/hd/clients/a%00b", "/hd%00x/clients", "/hd/channels/a%00b", "/hd/channels/a%00/roles"]) {
      const r = await svc.api("GET", path);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ message: "invalid id format provided" });
    }
    expect((await svc.api("DELETE", "/hd/clients/%00")).status).toBe(400);
  });

  test("in a query value: 400 invalid query parameters", async () => {
    for (const q of [
      "name=a%00",
      "id=%00",
      "tags=%00",
      "group=%00",
      `metadata=${encodeURIComponent('{"a":"\\u0000"}')}`,
      `metadata=${encodeURIComponent('{"\\ud800":1}')}`,
    ]) {
      const r = await svc.api("GET", `/hd/clients?${q}`);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ message: "invalid query parameters" });
    }
    expect((await svc.api("GET", "/hd/channels?name=%00")).status).toBe(400);
  });

  test("in a JSON string, key or number: 400 with the body's message, nothing stored", async () => {
    const before = await count("clients");
    const bodies = [
      '{"name":"a\\u0000b"}',
      '{"name":"\\ud800"}',
      '{"name":"\\udc00x"}',
      '{"metadata":{"k\\u0000":1}}',
      '{"metadata":{"x":"\\ud83d"}}',
      '{"credentials":{"secret":"s\\u0000"}}',
      '{"metadata":{"x":1e400}}',
      '{"metadata":{"x":-1E+309}}',
      `{"metadata":{"x":${"9".repeat(400)}}}`,
    ];
    for (const b of bodies) {
      const r = await svc.api("POST", "/hd/clients", b);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ message: MALFORMED });
    }
    expect((await svc.api("POST", "/hd/clients/bulk", `[{},${bodies[0]}]`)).status).toBe(400);
    expect(await count("clients")).toBe(before);
    // Well-formed pairs and big finite numbers are fine.
    const ok = await svc.api("POST", "/hd/clients", '{"name":"\\ud83d\\ude00","metadata":{"x":1e300}}');
    expect(ok.status).toBe(201);
    expect(ok.json.name).toBe("😀");
    expect(ok.json.metadata).toEqual({ x: 1e300 });
  });

  test("in gRPC fields: INVALID_ARGUMENT, or the contract's deny on the hot path", async () => {
    for (const [client, method, req] of [
      [g.clients, "RetrieveEntity", { id: "a\u0000" }],
      [g.channels, "RetrieveEntity", { id: "\u0000" }],
      [g.clients, "RetrieveEntities", { ids: ["x", "y\u0000"] }],
      [g.channels, "RetrieveIDByRoute", { route: "r\u0000", domain_id: "d" }],
      [g.clients, "RemoveChannelConnections", { channel_id: "\u0000" }],
      [g.channels, "RemoveClientConnections", { client_id: "\u0000" }],
      [g.clients, "UnsetParentGroupFromClient", { parent_group_id: "\u0000" }],
      [g.channels, "UnsetParentGroupFromChannels", { parent_group_id: "\u0000" }],
      [g.clients, "AddConnections", { connections: [{ client_id: "a\u0000", channel_id: "b", domain_id: "d", type: 1 }] }],
      [g.clients, "RemoveConnections", { connections: [{ client_id: "a", channel_id: "b\u0000", domain_id: "d", type: 1 }] }],
    ] as const) {
      const r = await call(client, method, req);
      expect([method, r.code, r.details]).toEqual([method, grpc.status.INVALID_ARGUMENT, "invalid id format provided"]);
    }
    // Invalid UTF-8 on the wire (a JS client could not send it): decoded as U+FFFD, it matches nothing.
    const rawClient = new grpc.Client(svc.grpcAddress, grpc.credentials.createInsecure());
    const rawCall = (method: string, bytes: number[]) =>
      new Promise<[number, string]>((resolve) =>
        rawClient.makeUnaryRequest(
          method,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(bytes),
          (err) => resolve(err ? [err.code, err.details] : [grpc.status.OK, ""]),
        ),
      );
    const surrogate = [0xed, 0xa0, 0x80];
    const notFound: [number, string] = [grpc.status.INTERNAL, "entity not found"];
    expect(await rawCall("/clients.v1.ClientsService/RetrieveEntity", [0x0a, 3, ...surrogate])).toEqual(notFound);
    expect(await rawCall("/channels.v1.ChannelsService/RetrieveEntity", [0x0a, 2, 0x61, 0xff])).toEqual(notFound);
    // Authorize{domain_id:"d", client_id:<bad bytes>, client_type:"client", channel_id:"c", type:1}
    const authzBytes = [0x0a, 1, 0x64, 0x12, 3, ...surrogate, 0x1a, 6, ...Buffer.from("client"), 0x22, 1, 0x63, 0x28, 1];
    expect((await rawCall("/channels.v1.ChannelsService/Authorize", authzBytes))[0]).toBe(grpc.status.PERMISSION_DENIED);
    rawClient.close();
    const basicToken = (s: string) => `Basic${Buffer.from(s).toString("base64")}`;
    for (const token of [basicToken("a\u0000:secret"), `Domain${Buffer.from("d\u0000:secret").toString("base64")}`, basicToken("\ud800:x")])
      expect((await call(g.clients, "Authenticate", { token })).code).toBe(grpc.status.PERMISSION_DENIED);
    for (const q of [
      { domain_id: "d", client_id: "c\u0000", client_type: "client", channel_id: "ch", type: 1 },
      { domain_id: "d\u0000", client_id: "d\u0000_u", client_type: "user", channel_id: "ch", type: 2 },
      { domain_id: "d", client_id: "c", client_type: "client", channel_id: "\ud800", type: 1 },
    ])
      expect((await call(g.channels, "Authorize", q)).code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe("disabled channels deny users too (item 2)", () => {
  test("a user's publish role stops authorizing while the channel is disabled", async () => {
    const ch = (await svc.api("POST", "/hu/channels", { name: "c" })).json.id;
    const role = await svc.api("POST", `/hu/channels/${ch}/roles`, {
      role_name: "writers",
      optional_actions: ["publish", "subscribe"],
      optional_members: ["u1"],
    });
    expect(role.status).toBe(201);
    const authz = (type: number) => call(g.channels, "Authorize", { domain_id: "hu", client_id: "hu_u1", client_type: "user", channel_id: ch, type });
    expect((await authz(1)).code).toBe(grpc.status.OK); // cached from here on
    expect((await svc.api("POST", `/hu/channels/${ch}/disable`)).status).toBe(200);
    expect((await authz(1)).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await authz(2)).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await svc.api("POST", `/hu/channels/${ch}/enable`)).status).toBe(200);
    expect((await authz(1)).code).toBe(grpc.status.OK);
  });
});

describe("response shapes as Magistrala's (item 14)", () => {
  test("GET a client with ?roles=true omits private_metadata", async () => {
    const c = (await svc.api("POST", "/hs/clients", { name: "p", private_metadata: { k: "v" } })).json;
    expect(c.private_metadata).toEqual({ k: "v" });
    const r = await svc.api("GET", `/hs/clients/${c.id}?roles=true`, undefined);
    // The standalone admin holds the built-in admin role of what it created.
    expect(r.status).toBe(200);
    expect(r.json.roles.length).toBe(1);
    expect(r.json.private_metadata).toBeUndefined();
    expect((await svc.api("GET", `/hs/clients/${c.id}`)).json.private_metadata).toEqual({ k: "v" });
  });

  test("channel list items carry parent_group_path like client list items", async () => {
    const ch = (await svc.api("POST", "/hs/channels", { name: "with-parent" })).json.id;
    expect((await svc.api("POST", `/hs/channels/${ch}/parent`, { parent_group_id: "g1" })).status).toBe(200);
    const item = (await svc.api("GET", "/hs/channels?group=g1")).json.channels[0];
    expect(item.parent_group_path).toBe("g1");
    expect((await svc.api("GET", `/hs/channels/${ch}`)).json.parent_group_path).toBeUndefined();
  });
});

describe("what Bun answers before the service (item 13, docs/limits.md)", () => {
  test("a raw NUL in the request line is Bun's 505; an unknown method closes the connection; a bad header is 400", async () => {
    expect(await raw("GET /hd/clients/a\u0000b HTTP/1.1\r\nHost: x\r\n\r\n", port())).toStartWith("HTTP/1.1 505");
    expect(await raw("FOO /hd/clients HTTP/1.1\r\nHost: x\r\n\r\n", port())).toBe("");
    expect(await raw("GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", port())).toStartWith("HTTP/1.1 400");
    // and the service is still there
    expect((await svc.api("GET", "/health")).status).toBe(200);
  });
});
