import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { knownMigrations } from "../src/db/migrations.ts";
import { PG_MIGRATIONS } from "../src/db/postgres/migrate.ts";
import { FLUSH_ALL } from "../src/domain/invalidation.ts";
import { createTestDatabase, type OpenedDatabase, onPostgres, openTestDatabase, pgEnv, queryStore } from "./helpers/backend.ts";
import { eventually, TestBroker } from "./helpers/broker.ts";
import { basic, call, grpc, grpcClients } from "./helpers/grpc.ts";
import { type ApiResponse, startTestService, type TestService, tempDir } from "./helpers/service.ts";

/**
 * Several instances of the service on one Postgres database, as behind a load balancer: they share
 * the rows, the outbox (drained by all of them) and the invalidation bus. One data directory
 * (a shared volume) gives them the same installation key and standalone token.
 */

const TOKEN = "tok-instances";
const services: TestService[] = [];
const opened: OpenedDatabase[] = [];
let broker: TestBroker | undefined;
afterAll(async () => {
  for (const s of services) await s.stop().catch(() => undefined);
  for (const o of opened) await o.dispose().catch(() => undefined);
  await broker?.stop();
});

async function instances(n: number, database: string, env: Record<string, string> = {}, dataDir = tempDir()): Promise<TestService[]> {
  const started = await Promise.all(
    Array.from({ length: n }, () =>
      startTestService({ ...pgEnv(database), MG_CLIENTS_DB_PATH: `${dataDir}/clients.db`, MG_CLIENTS_STANDALONE_TOKEN: TOKEN, ...env }, dataDir),
    ),
  );
  services.push(...started);
  return started;
}

const rid = (r: ApiResponse) => r.headers.get("x-request-id")!;

describe.skipIf(!onPostgres)("several instances on one Postgres", () => {
  test("three instances starting at once on a fresh database: migrations applied once, all serve the same rows", async () => {
    const database = await createTestDatabase("three");
    const [a, b, c] = await instances(3, database);
    const rows = await queryStore<{ n: number }>({ driver: "postgres", database }, "SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
    expect(rows[0]!.n).toBe(knownMigrations(PG_MIGRATIONS).length);
    const created = await a!.api("POST", "/three/clients", { name: "seen-by-all" });
    expect(created.status).toBe(201);
    for (const s of [b!, c!]) expect((await s.api("GET", `/three/clients/${created.json.id}`)).json.name).toBe("seen-by-all");
    // One installation key for all: a secret taken through one is taken for the others.
    expect((await b!.api("POST", "/three/clients", { credentials: { secret: "shared-secret" } })).status).toBe(201);
    expect((await c!.api("POST", "/three/clients", { credentials: { secret: "shared-secret" } })).json).toEqual({ message: "client key is not available" });
  }, 30_000);

  test("events written through two instances all reach the broker, none twice, each entity's in order", async () => {
    broker = await TestBroker.start();
    const database = await createTestDatabase("events");
    const [a, b] = await instances(2, database, { MG_CLIENTS_ES_URL: broker.url });
    const D = `multi-${randomUUID()}`;
    // Each entity is changed alternately through both instances; different entities concurrently.
    const expected = new Map<string, string[]>(); // entity id -> request ids, in the order written
    const steps = async (k: number) => {
      const [first, second] = k % 2 === 0 ? [a!, b!] : [b!, a!];
      const created = await first.api("POST", `/${D}/clients`, { name: `c${k}` });
      expect(created.status).toBe(201);
      const id = created.json.id as string;
      const order = [rid(created)];
      const calls: [TestService, string, string, unknown?][] = [
        [second, "PATCH", `/${D}/clients/${id}/tags`, { tags: [`t${k}`] }],
        [first, "POST", `/${D}/clients/${id}/disable`],
        [second, "POST", `/${D}/clients/${id}/enable`],
        [first, "PATCH", `/${D}/clients/${id}`, { name: `c${k}-renamed` }],
      ];
      for (const [svc, method, path, body] of calls) {
        const r = await svc.api(method, path, body);
        expect(r.status).toBe(200);
        order.push(rid(r));
      }
      expected.set(id, order);
    };
    await Promise.all(Array.from({ length: 30 }, (_, k) => steps(k)));
    const total = 30 * 5;
    const mine = () => broker!.on("events/").filter((m) => m.json?.domain === D);
    await broker.waitUntil(() => new Set(mine().map((m) => m.json.request_id)).size >= total, 20_000, `${total} events`);
    await eventually(
      async () => (await queryStore<{ n: number }>({ driver: "postgres", database }, "SELECT count(*)::int AS n FROM outbox"))[0]!.n === 0,
      10_000,
      "an empty outbox",
    );
    await Bun.sleep(200); // a duplicate would be on its way by now
    const seen = mine().map((m) => m.json.request_id as string);
    const duplicates = seen.length - new Set(seen).size;
    const publishers = new Set(broker.attempts.filter((t) => t.text.includes(D)).map((t) => t.clientId));
    console.log(
      `two instances: ${total} events written, ${new Set(seen).size} delivered, ${duplicates} duplicates, published by ${publishers.size} instance(s)`,
    );
    expect(duplicates).toBe(0);
    expect(new Set(seen).size).toBe(total);
    for (const [id, order] of expected) {
      const arrived = mine()
        .filter((m) => m.json.id === id)
        .map((m) => m.json.request_id);
      expect(arrived).toEqual(order);
    }
  }, 60_000);

  test("caches stay coherent: a change committed through A is refused/allowed by B on its very next call", async () => {
    const database = await createTestDatabase("coherent");
    const [a, b] = await instances(2, database);
    const ga = grpcClients(a!.grpcAddress);
    const gb = grpcClients(b!.grpcAddress);
    try {
      const D = "coh";
      const dev = await a!.api("POST", `/${D}/clients`, { credentials: { secret: "coh-secret" } });
      const ch = await a!.api("POST", `/${D}/channels`, {});
      const token = basic(dev.json.id, "coh-secret");
      const authz = (g: ReturnType<typeof grpcClients>, type: number) =>
        call(g.channels, "Authorize", { domain_id: D, client_id: dev.json.id, client_type: "client", channel_id: ch.json.id, type });
      const user = (g: ReturnType<typeof grpcClients>) =>
        call(g.channels, "Authorize", { domain_id: D, client_id: `${D}_user-1`, client_type: "user", channel_id: ch.json.id, type: 1 });
      const ok = grpc.status.OK;
      const denied = grpc.status.PERMISSION_DENIED;

      // NOTIFY reaches the other instance asynchronously (the coherence window docs/postgres.md documents:
      // normally well under a millisecond, longer on a loaded machine). `seenBy(x, write)` makes the
      // write and returns once x's bus has received its invalidation: from then on, x's very next call
      // must follow the new truth (without the invalidation, x would answer from its cache for the
      // whole MG_CLIENTS_CACHE_KEY_DURATION).
      const seenBy = async (x: TestService, write: () => Promise<ApiResponse>) => {
        let received = 0;
        const off = x.service.bus.subscribe(() => received++);
        try {
          const r = await write();
          await eventually(() => received > 0, 2_000, "the invalidation at the other instance");
          await new Promise((resolve) => setImmediate(resolve)); // the rest of the same notification batch
          return r;
        } finally {
          off();
        }
      };

      // B answers (and caches) first, then A changes the truth: B's next call must follow.
      for (let i = 0; i < 2; i++) expect((await call(gb.clients, "Authenticate", { token })).code).toBe(ok);
      expect((await seenBy(b!, () => a!.api("POST", `/${D}/clients/${dev.json.id}/disable`))).status).toBe(200);
      expect((await call(gb.clients, "Authenticate", { token })).code).toBe(denied);
      expect((await seenBy(b!, () => a!.api("POST", `/${D}/clients/${dev.json.id}/enable`))).status).toBe(200);
      expect((await call(gb.clients, "Authenticate", { token })).code).toBe(ok);

      for (let i = 0; i < 2; i++) expect((await authz(gb, 1)).code).toBe(denied);
      expect(
        (await seenBy(b!, () => a!.api("POST", `/${D}/channels/connect`, { channel_ids: [ch.json.id], client_ids: [dev.json.id], types: ["publish"] }))).status,
      ).toBe(201);
      expect((await authz(gb, 1)).code).toBe(ok);
      expect(
        (await seenBy(a!, () => b!.api("POST", `/${D}/channels/${ch.json.id}/disconnect`, { client_ids: [dev.json.id], types: ["publish"] }))).status,
      ).toBe(204);
      expect((await authz(ga, 1)).code).toBe(denied);

      // A secret changed through B: A refuses the old one at once.
      expect((await call(ga.clients, "Authenticate", { token })).code).toBe(ok);
      expect((await seenBy(a!, () => b!.api("PATCH", `/${D}/clients/${dev.json.id}/secret`, { secret: "coh-secret-2" }))).status).toBe(200);
      expect((await call(ga.clients, "Authenticate", { token })).code).toBe(denied);

      // Roles: a user's publish right granted and revoked through A, asked through B.
      for (let i = 0; i < 2; i++) expect((await user(gb)).code).toBe(denied);
      const role = await seenBy(b!, () =>
        a!.api("POST", `/${D}/channels/${ch.json.id}/roles`, { role_name: "pub", optional_actions: ["publish"], optional_members: ["user-1"] }),
      );
      expect(role.status).toBe(201);
      expect((await user(gb)).code).toBe(ok);
      expect(
        (await seenBy(b!, () => a!.api("POST", `/${D}/channels/${ch.json.id}/roles/${role.json.id}/members/delete`, { members: ["user-1"] }))).status,
      ).toBe(204);
      expect((await user(gb)).code).toBe(denied);

      // Delete through A: B refuses the client on its next call.
      const dev2 = await b!.api("POST", `/${D}/clients`, { credentials: { secret: "coh-3" } });
      const token2 = basic(dev2.json.id, "coh-3");
      expect((await call(gb.clients, "Authenticate", { token: token2 })).code).toBe(ok);
      expect((await seenBy(b!, () => a!.api("DELETE", `/${D}/clients/${dev2.json.id}`))).status).toBe(204);
      expect((await call(gb.clients, "Authenticate", { token: token2 })).code).toBe(denied);
    } finally {
      ga.close();
      gb.close();
    }
  }, 30_000);

  test("the invalidation bus: a message published through A after a commit reaches B; B's listener reconnects and flushes", async () => {
    const database = await createTestDatabase("bus");
    const [a, b] = await instances(2, database);
    const atB: string[] = [];
    const atA: string[] = [];
    b!.service.bus.subscribe((m) => atB.push(m));
    a!.service.bus.subscribe((m) => atA.push(m));

    a!.service.bus.publish("client:from-a");
    expect(atA).toEqual(["client:from-a"]); // locally at once
    await eventually(() => atB.includes("client:from-a"), 5000, "the message at B");
    expect(atA).toEqual(["client:from-a"]); // A does not get its own notification twice

    // Published inside a transaction (a third process on the database): delivered with the commit, and
    // when B hears it the row is visible to B; a rolled-back one never arrives.
    const writer = await openTestDatabase({ database });
    opened.push(writer);
    const visibleAtB: boolean[] = [];
    b!.service.bus.subscribe((m) => {
      if (m === "client:committed") void b!.api("GET", "/bus/clients/bus-client").then((r) => visibleAtB.push(r.status === 200));
    });
    const { clients } = writer.db.tables;
    await expect(
      writer.db.transact(async (tx) => {
        tx.invalidate("client:rolled-back");
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    await writer.db.transact(async (tx) => {
      await tx.db.insert(clients).values({ id: "bus-client", domainId: "bus", secretHash: "h", createdAt: 1 });
      tx.invalidate("client:committed");
    });
    await eventually(() => visibleAtB.length === 1, 5000, "the committed message at B");
    expect(visibleAtB).toEqual([true]);
    expect(atB).not.toContain("client:rolled-back");
    expect(atA).toContain("client:committed");

    // Kill the listening connections: each instance flushes, listens again, flushes again, and hears new messages.
    const listeners = await queryStore<{ ok: boolean }>(
      { driver: "postgres", database: "postgres" },
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = ? AND application_name = 'magistrala-clients/bus'",
      [database],
    );
    expect(listeners.length).toBeGreaterThanOrEqual(2); // A's, B's (and the writer's)
    await eventually(() => atB.filter((m) => m === FLUSH_ALL).length >= 2 && b!.service.bus.coherent, 10_000, "B's flushes and reconnect");
    a!.service.bus.publish("client:after-reconnect");
    await eventually(() => atB.includes("client:after-reconnect"), 5000, "a message after the reconnect");
  }, 30_000);
});
