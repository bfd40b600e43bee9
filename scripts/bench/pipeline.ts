// The HTTP request pipeline without a network (issue #14): the service's Elysia app built as
// src/main.ts builds it, driven through app.handle() one request at a time, so what is measured is
// the CPU of the pipeline itself — no load generator, no sockets. Prints µs per request for GET one
// client and POST create, with each optional stage switched off in turn (the per-request log line,
// the metrics), so the difference is that stage's cost. Run it under `bun --cpu-prof` for a
// function-level profile.   bun scripts/bench/pipeline.ts [requests]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/config.ts";
import { CallCounts } from "../../src/grpc/server.ts";
import { createHttpApp } from "../../src/http/server.ts";
import { createLogger, type Logger } from "../../src/log/logger.ts";
import { database } from "../../src/wiring/database.ts";
import { buildDomain } from "../../src/wiring/domain.ts";
import { loadIdentity } from "../../src/wiring/identity.ts";
import { serviceMetrics } from "../../src/wiring/observability.ts";
import { httpRoutes } from "../../src/wiring/transports.ts";

const N = Number(process.argv[2] ?? 20_000);
const dir = mkdtempSync(join(tmpdir(), "mgc-pipeline-"));
const config = loadConfig({
  MG_CLIENTS_DB_PATH: join(dir, "clients.db"),
  MG_CLIENTS_ES_URL: "",
  MG_CLIENTS_STANDALONE_TOKEN: "bench-token",
  MG_CLIENTS_HOOKS_PORT: "",
});
// The log at the default level, to stdout as served (run with >/dev/null, the table goes to stderr).
const infoLogger = createLogger("info");
const db = await database(config, infoLogger).start();
const { hasher, auth } = await loadIdentity(config, db, infoLogger);
const domain = buildDomain({ db, hasher, superAdminId: auth.userId, cache: config.cache });
const metrics = serviceMetrics({ cache: domain.cache, db, grpcCounts: new CallCounts() });
const app = (logger: Logger, m = metrics) =>
  createHttpApp(
    { auth, logger, metrics: m, health: () => ({ status: "pass" }), version: "bench", maxBodyBytes: 1 << 20 },
    httpRoutes(domain, { view: async () => undefined } as never),
  );
const H = { authorization: "Bearer bench-token" };
const JH = { ...H, "content-type": "application/json" };
const base = app(infoLogger);
const created = (await (await base.handle(new Request("http://localhost/d/clients", { method: "POST", headers: JH, body: '{"name":"x"}' }))).json()) as {
  id: string;
};

/** µs of wall time per request with 64 in flight (so a write's fsync is shared as under load), best of 3. */
async function time(a: ReturnType<typeof app>, make: () => Request, n: number): Promise<number> {
  const run = async (count: number) => {
    let left = count;
    const worker = async () => {
      while (left-- > 0) await (await a.handle(make())).arrayBuffer();
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 64 }, worker));
    return ((performance.now() - t0) * 1000) / count;
  };
  await run(2000);
  return Math.min(await run(n), await run(n), await run(n));
}
const get = () => new Request(`http://localhost/d/clients/${created.id}`, { headers: H });
const post = () => new Request("http://localhost/d/clients", { method: "POST", headers: JH, body: "{}" });
const notFound = () => new Request("http://localhost/d/nothing", { headers: H });
const noMetrics = { ...metrics, http: { observe() {} }, httpRequests: { inc() {} }, httpDuration: { observe() {} } } as any;
const variants: [string, ReturnType<typeof app>][] = [
  ["as served (log level info)", base],
  ["without the log line (level warn)", app(createLogger("warn", () => {}))],
  [
    "without log line and metrics",
    app(
      createLogger("warn", () => {}),
      noMetrics,
    ),
  ],
];
console.error("| variant | GET µs | POST µs | 404 µs |\n|---|---:|---:|---:|");
for (const [name, a] of variants)
  console.error(
    `| ${name} | ${(await time(a, get, N)).toFixed(1)} | ${(await time(a, post, Math.min(N, 5000))).toFixed(1)} | ${(await time(a, notFound, N)).toFixed(1)} |`,
  );
// The service call alone (the repository's point read), and request construction alone.
const ctx = { userId: auth.userId, domainId: "d", superAdmin: true, tokenType: "access token" as const, requestId: "r" };
const s0 = performance.now();
for (let i = 0; i < N; i++) await domain.clients.view(ctx, created.id);
console.error(`(service view alone: ${(((performance.now() - s0) * 1000) / N).toFixed(1)} µs)`);
const t0 = performance.now();
for (let i = 0; i < N; i++) get();
console.error(`(building the Request object alone: ${(((performance.now() - t0) * 1000) / N).toFixed(1)} µs)`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
