import { afterAll, beforeAll, expect, test } from "bun:test";
import { basic, call, type GrpcClients, grpc, grpcClients } from "./helpers/grpc.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * Issue 12 item 11: writes to other clients while a cold Authenticate is being looked up must not
 * keep its answer out of the cache (on Postgres the lookup is asynchronous; one global staleness
 * guard used to discard every lookup that overlapped any invalidation). The property test
 * (test/grpc.property.test.ts) keeps the other half: zero stale answers.
 */

let svc: TestService;
let g: GrpcClients;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_CACHE_KEY_DURATION: "1h" });
  g = grpcClients(svc.grpcAddress);
});
afterAll(async () => {
  g.close();
  await svc.dispose();
});

async function authnHits(): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const m = /access_cache_requests_total\{cache="authn",result="hit"\} (\d+)/.exec(text);
  return Number(m?.[1] ?? 0);
}

test("cold lookups that overlap unrelated disables are cached all the same", async () => {
  const ROUNDS = 3;
  const N = 16;
  const made = await svc.api(
    "POST",
    "/cw/clients/bulk",
    Array.from({ length: 2 * N * ROUNDS }, (_, i) => ({ credentials: { secret: `cw-secret-${i}` } })),
  );
  expect(made.status).toBe(200);
  const clients: { id: string; secret: string }[] = made.json.clients.map((c: { id: string; credentials: { secret: string } }) => ({
    id: c.id,
    secret: c.credentials.secret,
  }));
  for (let round = 0; round < ROUNDS; round++) {
    const batch = clients.slice(round * 2 * N, (round + 1) * 2 * N);
    const readers = batch.slice(0, N);
    const writers = batch.slice(N);
    // Cold Authenticates of some clients, interleaved with disables of others (each invalidates).
    const results = await Promise.all([
      ...readers.map((c) => call(g.clients, "Authenticate", { token: basic(c.id, c.secret) })),
      ...writers.map((c) => svc.api("POST", `/cw/clients/${c.id}/disable`)),
    ]);
    expect(results.slice(0, N).every((r) => "code" in r && r.code === grpc.status.OK)).toBe(true);
    const before = await authnHits();
    for (const c of readers) expect((await call(g.clients, "Authenticate", { token: basic(c.id, c.secret) })).code).toBe(grpc.status.OK);
    expect(await authnHits()).toBe(before + N);
  }
});
