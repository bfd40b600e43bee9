import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FLUXMQ_PACKAGES, fluxmqDescriptors } from "../src/hooks/fluxmq.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * FluxMQ's AuthService (contract hooks.md §6) under both package names, through the clients of
 * the Connect family: gRPC on the gRPC listener (what FluxMQ's connect-go client speaks with
 * WithGRPC), the Connect protocol (binary and JSON) on the hooks listener; plus golden bytes sent
 * by hand, so the run-time descriptors are checked against the wire, not only against themselves.
 */

const TOKEN = `flux-${randomUUID()}`;
const DOMAIN = randomUUID();
let svc: TestService;
let dev: { id: string; secret: string };
let chPub: string;

const withToken: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${TOKEN}`);
  return next(req);
};

beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_HOOKS_HOST: "127.0.0.1", MG_CLIENTS_HOOKS_PORT: "0", MG_CLIENTS_HOOKS_TOKEN: TOKEN });
  const c = await svc.api("POST", `/${DOMAIN}/clients`, { name: "flux" });
  dev = { id: c.json.id, secret: c.json.credentials.secret };
  chPub = (await svc.api("POST", `/${DOMAIN}/channels`, { name: "p", route: "yard" })).json.id;
  await svc.api("POST", `/${DOMAIN}/channels/connect`, { channel_ids: [chPub], client_ids: [dev.id], types: ["publish"] });
});
afterAll(() => svc.dispose());

/** The client's view of AuthService (the descriptors are built at run time, so untyped). */
interface AuthClient {
  authenticate(req: {
    clientId: string;
    username: string;
    password: string;
    protocol: number;
  }): Promise<{ authenticated: boolean; id: string; reasonCode: number; reason: string }>;
  authorize(req: { externalId: string; topic: string; action: number }): Promise<{ authorized: boolean; reasonCode: number; reason: string }>;
}
const authClient = (desc: DescService, t: Transport) => createClient(desc, t) as unknown as AuthClient;

const services = await fluxmqDescriptors();
const transports: [string, () => Transport][] = [
  ["gRPC on the gRPC listener", () => createGrpcTransport({ baseUrl: `http://${svc.grpcAddress}` })],
  [
    "Connect (binary) on the hooks listener",
    () => createConnectTransport({ baseUrl: svc.service.hooksUrl!, httpVersion: "1.1", interceptors: [withToken], useBinaryFormat: true }),
  ],
  ["Connect (JSON) on the hooks listener", () => createConnectTransport({ baseUrl: svc.service.hooksUrl!, httpVersion: "1.1", interceptors: [withToken] })],
];

for (const [i, pkg] of FLUXMQ_PACKAGES.entries()) {
  const desc: DescService = services[i]!;
  for (const [name, transport] of transports) {
    describe(`${pkg}.AuthService over ${name}`, () => {
      let auth: AuthClient;
      beforeAll(() => {
        auth = authClient(desc, transport());
      });

      test("Authenticate: the client's id, or authenticated:false with status OK", async () => {
        const ok = await auth.authenticate({ clientId: "mqtt-1", username: dev.id, password: dev.secret, protocol: 1 });
        expect([ok.authenticated, ok.id, ok.reasonCode]).toEqual([true, dev.id, 0]);
        const no = await auth.authenticate({ clientId: "mqtt-1", username: dev.id, password: "wrong", protocol: 1 });
        expect([no.authenticated, no.id, no.reasonCode]).toEqual([false, "", 0x86]);
        expect((await auth.authenticate({ clientId: "mqtt-1", username: "", password: "", protocol: 1 })).authenticated).toBe(false);
        // an http: client id may use the Domain form (username = domain id)
        const d = await auth.authenticate({ clientId: "http:adapter", username: DOMAIN, password: dev.secret, protocol: 4 });
        expect([d.authenticated, d.id]).toEqual([true, dev.id]);
        expect((await auth.authenticate({ clientId: "mqtt-1", username: DOMAIN, password: dev.secret, protocol: 1 })).authenticated).toBe(false);
      });

      test("Authorize: publish where connected, refusals as authorized:false", async () => {
        const q = (topic: string, action: number, externalId = dev.id) => auth.authorize({ externalId, topic, action });
        expect((await q(`m/${DOMAIN}/c/${chPub}/temp`, 1)).authorized).toBe(true);
        expect((await q(`m/${DOMAIN}/c/yard/temp`, 1)).authorized).toBe(true);
        expect((await q(`hc/${DOMAIN}`, 2)).authorized).toBe(true);
        const sub = await q(`m/${DOMAIN}/c/${chPub}/temp`, 2);
        expect([sub.authorized, sub.reasonCode, sub.reason]).toEqual([false, 0x87, "not connected to the channel"]);
        expect((await q(`m/${DOMAIN}/c/+/temp`, 2)).reason).toBe("topic outside the grammar");
        expect((await q(`m/${DOMAIN}/c/${chPub}`, 0)).authorized).toBe(false);
        expect((await q(`m/${DOMAIN}/c/${chPub}`, 1, randomUUID())).authorized).toBe(false);
      });
    });
  }
}

describe("over the wire", () => {
  const hook = (path: string, body: string | Uint8Array, type: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(`${svc.service.hooksUrl}${path}`, { method: "POST", body, headers: { "content-type": type, ...headers } });

  test("Connect JSON as curl sends it (proto field names accepted)", async () => {
    const r = await hook(
      "/fluxmq.auth.v1.AuthService/Authenticate",
      JSON.stringify({ client_id: "c", username: dev.id, password: dev.secret, protocol: "MQTT" }),
      "application/json",
    );
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ authenticated: true, id: dev.id });
    const z = await hook(
      "/broker.auth.v1.AuthService/Authorize",
      JSON.stringify({ externalId: dev.id, topic: `m/${DOMAIN}/c/${chPub}`, action: "Subscribe" }),
      "application/json",
    );
    expect(await z.json()).toEqual({ reasonCode: 0x87, reason: "not connected to the channel" });
  });

  test("golden protobuf bytes: AuthzReq{external_id=1, topic=2, action=3} → AuthzRes{authorized=1}", async () => {
    const str = (field: number, s: string) => [(field << 3) | 2, Buffer.byteLength(s), ...Buffer.from(s)];
    const req = new Uint8Array([...str(1, dev.id), ...str(2, `m/${DOMAIN}/c/${chPub}/t`), (3 << 3) | 0, 1]);
    const r = await hook("/fluxmq.auth.v1.AuthService/Authorize", req, "application/proto");
    expect(r.status).toBe(200);
    expect([...new Uint8Array(await r.arrayBuffer())]).toEqual([(1 << 3) | 0, 1]);
    const authn = new Uint8Array([...str(1, "c"), ...str(2, dev.id), ...str(3, "wrong"), (4 << 3) | 0, 1]);
    const a = await hook("/broker.auth.v1.AuthService/Authenticate", authn, "application/proto");
    // authenticated=false is the default (absent); reason_code=3 is 0x86, then reason=4
    expect([...new Uint8Array(await a.arrayBuffer())]).toEqual([(3 << 3) | 0, 0x86, 0x01, ...str(4, "bad credentials")]);
  });

  test("without the token the Connect endpoint refuses (as an answer); the gRPC listener needs none", async () => {
    const r = await hook("/fluxmq.auth.v1.AuthService/Authenticate", JSON.stringify({ username: dev.id, password: dev.secret }), "application/json", {});
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ reasonCode: 0x86, reason: "unauthorized caller" });
    expect((await svc.api("GET", "/metrics")).text).toMatch(/hooks_checks_total\{dialect="fluxmq-connect",check="authn",outcome="unauthorized"\} [1-9]/);
  });

  test("malformed Connect calls get a Connect error, never a 5xx", async () => {
    for (const [body, type] of [
      ["{nope", "application/json"],
      ["\u00ff\u00ff\u00ff", "application/proto"],
      ['{"client_id": 5}', "application/json"],
    ]) {
      const r = await hook("/fluxmq.auth.v1.AuthService/Authenticate", body!, type!);
      expect(r.status).toBeLessThan(500);
    }
  });

  test("revocation on the very next call: disconnect over REST", async () => {
    const auth = authClient(services[0]!, createGrpcTransport({ baseUrl: `http://${svc.grpcAddress}` }));
    const q = () => auth.authorize({ externalId: dev.id, topic: `m/${DOMAIN}/c/${chPub}/t`, action: 1 });
    expect([(await q()).authorized, (await q()).authorized]).toEqual([true, true]);
    expect((await svc.api("POST", `/${DOMAIN}/channels/disconnect`, { channel_ids: [chPub], client_ids: [dev.id], types: ["publish"] })).status).toBe(204);
    expect((await q()).authorized).toBe(false);
  });
});
