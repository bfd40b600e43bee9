// The cold gRPC Authorize path without a network, stage by stage: µs per call of the raw SQL
// statements (clientMay's before and now), the connections repository's clientMay, the access core with caching off (what
// `bench:grpc` calls cold), the access core with caching on and every call a first call (cache
// insertion included), the gRPC handler around it (reply and counters, no sockets), and the
// protobuf decode + encode grpc-js does around a handler. Seeds N clients, N/100 channels and 2N
// connections (scripts/bench/scale-seed.ts). Run it under `bun --cpu-prof` for a profile.
//   bun scripts/bench/authz-stages.ts [N=10000] [calls=200000]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { AccessCache } from "../../src/cache/access-cache.ts";
import { channelsGrpc } from "../../src/channels/grpc.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createConnectionsRepository } from "../../src/connections/repository.ts";
import type { SqliteDatabase } from "../../src/db/sqlite/open.ts";
import { CallCounts, grpcDefinitions } from "../../src/grpc/server.ts";
import { createLogger } from "../../src/log/logger.ts";
import { database } from "../../src/wiring/database.ts";
import { buildDomain } from "../../src/wiring/domain.ts";
import { loadIdentity } from "../../src/wiring/identity.ts";
import { ADMIN_ID, DOMAIN, seedSqlite } from "./scale-seed.ts";

const N = Number(process.argv[2] ?? 10_000);
const CALLS = Number(process.argv[3] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), "mgc-authz-stages-"));
const logger = createLogger("warn");
const key = randomBytes(32);
writeFileSync(join(dir, "installation.key"), `${key.toString("hex")}\n`, { mode: 0o600 });
const config = loadConfig({
  MG_CLIENTS_DB_PATH: join(dir, "clients.db"),
  MG_CLIENTS_ES_URL: "",
  MG_CLIENTS_STANDALONE_TOKEN: "bench-token",
  MG_CLIENTS_HOOKS_PORT: "",
  MG_CLIENTS_CACHE_KEY_DURATION: "0",
});
const migrate = database(config, logger);
await migrate.start();
await migrate.stop({ graceful: true });
seedSqlite(join(dir, "clients.db"), N, key);

const db = (await database(config, logger).start()) as unknown as SqliteDatabase;
const { hasher, auth } = await loadIdentity(config, db as never, logger);
const cold = buildDomain({ db: db as never, hasher, superAdminId: auth.userId, cache: config.cache });
const repo = createConnectionsRepository(db as never);

// Enabled tuples (client and channel enabled), type 1, in a shuffled order.
const tuples = db.readConnection
  .query(
    `SELECT k.client_id AS clientId, k.channel_id AS channelId FROM connections k JOIN clients c ON c.id = k.client_id JOIN channels h ON h.id = k.channel_id
     WHERE k.type = 1 AND c.status = 0 AND h.status = 0 AND k.domain_id = '${DOMAIN}' ORDER BY random() LIMIT 5000`,
  )
  .all() as { clientId: string; channelId: string }[];
// The statement of clientMay before (a three-table join) and now (one table, the statuses as
// correlated subqueries), raw: under Bun's SQLite the join costs several µs a run more.
const rawJoin = db.readConnection.prepare(
  `SELECT 1 FROM connections k JOIN clients c ON c.id = k.client_id JOIN channels h ON h.id = k.channel_id
   WHERE k.channel_id = ? AND k.domain_id = ? AND k.client_id = ? AND k.type = ? AND c.status = 0 AND h.status = 0`,
);
const raw = db.readConnection.prepare(
  `SELECT 1 FROM connections k WHERE k.channel_id = ? AND k.domain_id = ? AND k.client_id = ? AND k.type = ?
   AND (SELECT status FROM clients WHERE id = k.client_id) = 0 AND (SELECT status FROM channels WHERE id = k.channel_id) = 0`,
);

/** µs per call of `fn` over `n` calls cycling through the tuples, best of 3 (after a warm-up). */
/** `setup` runs before each pass, outside the timing. */
function time(name: string, fn: (t: { clientId: string; channelId: string }, i: number) => unknown, n = CALLS, setup?: () => void): number {
  const pass = (count: number) => {
    setup?.();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) fn(tuples[i % tuples.length]!, i);
    return ((performance.now() - t0) * 1000) / count;
  };
  pass(Math.min(20_000, n));
  let us = Number.POSITIVE_INFINITY;
  for (let k = 0; k < (setup ? 20 : 3); k++) us = Math.min(us, pass(n));
  console.log(`| ${name} | ${us.toFixed(2)} |`);
  return us;
}

console.log(
  `\n${N} clients, ${tuples.length} tuples cycled, ${CALLS} calls a pass, best of 3 passes (of 20 for the first calls, one call per tuple on a new cache)\n`,
);
console.log("| stage | µs per call |\n|---|---:|");
const one = tuples[0]!;
time("raw SQL, three-table join (clientMay before)", (t) => rawJoin.values(t.channelId, DOMAIN, t.clientId, 1));
time("the same, one tuple over and over (as bench:grpc)", () => rawJoin.values(one.channelId, DOMAIN, one.clientId, 1));
time("raw SQL, one table + status subqueries (clientMay now)", (t) => raw.values(t.channelId, DOMAIN, t.clientId, 1));
time("the same, one tuple over and over", () => raw.values(one.channelId, DOMAIN, one.clientId, 1));
time("connections repository `clientMay`", (t) => repo.clientMay(DOMAIN, t.clientId, t.channelId, 1));
time("the same, one tuple over and over", () => repo.clientMay(DOMAIN, one.clientId, one.channelId, 1));
const q = (t: { clientId: string; channelId: string }) => ({ domainId: DOMAIN, clientId: t.clientId, clientType: "client", channelId: t.channelId, type: 1 });
time("access core `authorize`, caching off", (t) => cold.access.authorize(q(t)));

// A user (client_type "user", <domain>_<user id>) through a channel role: the seeded admin is a
// member of every channel's built-in role, which holds every action.
const uq = (t: { channelId: string }) => ({ domainId: DOMAIN, clientId: `${DOMAIN}_${ADMIN_ID}`, clientType: "user", channelId: t.channelId, type: 1 });
if (cold.access.authorize(uq(one)) !== "allowed") throw new Error("the seeded admin is not allowed: the harness measures something else");
time("access core `authorize`, a user through a channel role, caching off", (t) => cold.access.authorize(uq(t)));

// Caching on, each call a first call: a pass is one call per tuple on a cache made before it
// (the bench's cold service has caching off; a restart's first calls insert).
{
  const warmCfg = { ttlMs: 3_600_000, maxEntries: 100_000 };
  let domain = buildDomain({ db: db as never, hasher, superAdminId: auth.userId, cache: warmCfg });
  const fresh = () => {
    domain = buildDomain({ db: db as never, hasher, superAdminId: auth.userId, cache: warmCfg });
  };
  time("access core `authorize`, caching on, first calls (insertion)", (t) => domain.access.authorize(q(t)), tuples.length, fresh);
  time("the same, cache hits", (t) => domain.access.authorize(q(t)));
  let cache = new AccessCache(warmCfg);
  const freshCache = () => {
    cache = new AccessCache(warmCfg);
  };
  time(
    "cache insertion alone (`rememberAuthorized`)",
    (t) => cache.rememberAuthorized(`c\u0000${DOMAIN}\u0000${t.clientId}\u0000${t.channelId}\u00001`, true, t.clientId, t.channelId, cache.epoch),
    tuples.length,
    freshCache,
  );
}

// The handler (no sockets): the request object as grpc-js hands it over, the reply callback.
const handlers = channelsGrpc({ access: cold.access, channels: cold.channels, connections: cold.connections, logger, counts: new CallCounts() });
const reqs = tuples.map((t) => ({ request: { domain_id: DOMAIN, client_id: t.clientId, client_type: "client", channel_id: t.channelId, type: 1 } }));
let allowed = 0;
const cb = (err: unknown, v?: unknown) => {
  if (!err && v) allowed++;
};
time("gRPC handler `Authorize` around it, caching off", (_t, i) => handlers.Authorize(reqs[i % reqs.length] as never, cb as never));
if (allowed === 0) throw new Error("no call was allowed: the harness measures something else");

// What grpc-js does with the bytes around a handler: decode the request, encode the reply.
const protos = grpcDefinitions();
const m = protos.channels.Authorize as grpc.MethodDefinition<unknown, unknown>;
const bytes = tuples.map((t) => m.requestSerialize({ domain_id: DOMAIN, client_id: t.clientId, client_type: "client", channel_id: t.channelId, type: 1 }));
time("protobuf: decode the request", (_t, i) => m.requestDeserialize(bytes[i % bytes.length]!));
time("protobuf: encode the reply", () => m.responseSerialize({ authorized: true }));

await db.close();
rmSync(dir, { recursive: true, force: true });
