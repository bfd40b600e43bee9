import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { makePki, type TestPki } from "./helpers/certs.ts";
import { basic, call, grpc, grpcClients } from "./helpers/grpc.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

let pki: TestPki;
const services: TestService[] = [];
beforeAll(() => {
  pki = makePki();
});
afterAll(async () => {
  for (const s of services) await s.dispose();
  rmSync(pki.dir, { recursive: true, force: true });
});

async function serviceWithDevice(env: Record<string, string>) {
  const svc = await startTestService(env);
  services.push(svc);
  const c = (await svc.api("POST", "/tls/clients", { credentials: { secret: "tls-secret" } })).json;
  return { svc, token: basic(c.id, "tls-secret"), id: c.id as string };
}

describe("gRPC over TLS", () => {
  test("MG_CLIENTS_GRPC_SERVER_CERT/_KEY serve TLS: a client trusting the CA authenticates; a plaintext client cannot", async () => {
    const { svc, token, id } = await serviceWithDevice({ MG_CLIENTS_GRPC_SERVER_CERT: pki.serverCert, MG_CLIENTS_GRPC_SERVER_KEY: pki.serverKey });
    const secure = grpcClients(svc.grpcAddress, grpc.credentials.createSsl(pki.read(pki.caCert)));
    expect(await call(secure.clients, "Authenticate", { token })).toEqual({ code: grpc.status.OK, details: "", value: { authenticated: true, id } });
    secure.close();
    const plain = grpcClients(svc.grpcAddress);
    expect((await call(plain.clients, "Authenticate", { token }, 2000)).code).toBe(grpc.status.UNAVAILABLE);
    plain.close();
  });

  test("with _CA_CERTS (mTLS) a client certificate from that CA is required", async () => {
    const { svc, token, id } = await serviceWithDevice({
      MG_CLIENTS_GRPC_SERVER_CERT: pki.serverCert,
      MG_CLIENTS_GRPC_SERVER_KEY: pki.serverKey,
      MG_CLIENTS_GRPC_CA_CERTS: pki.caCert,
    });
    const ca = pki.read(pki.caCert);
    const withCert = grpcClients(svc.grpcAddress, grpc.credentials.createSsl(ca, pki.read(pki.clientKey), pki.read(pki.clientCert)));
    expect(await call(withCert.clients, "Authenticate", { token })).toEqual({ code: grpc.status.OK, details: "", value: { authenticated: true, id } });
    withCert.close();

    const noCert = grpcClients(svc.grpcAddress, grpc.credentials.createSsl(ca));
    expect((await call(noCert.clients, "Authenticate", { token }, 2000)).code).toBe(grpc.status.UNAVAILABLE);
    noCert.close();

    const stranger = grpcClients(svc.grpcAddress, grpc.credentials.createSsl(ca, pki.read(pki.strangerKey), pki.read(pki.strangerCert)));
    expect((await call(stranger.clients, "Authenticate", { token }, 2000)).code).toBe(grpc.status.UNAVAILABLE);
    stranger.close();
  });
});
