// CPU profile of the gRPC hot path: the service from source under Bun's sampling profiler
// (`bun --cpu-prof`) on N seeded clients (scripts/bench/scale-seed.ts), h2load driving one case
// for BENCH_SECONDS with 32 calls in flight on 4 connections (as bench:grpc), then the samples
// summed per function, self and inclusive, in % and CPU µs per call. Cases: authz-cold (caching
// off: MG_CLIENTS_CACHE_KEY_DURATION=0), authz-warm, authn-cold, authn-warm. BENCH_PROFILE=0 runs
// the same without the profiler (calls/s and CPU only). The .cpuprofile stays for Chrome DevTools.
//   flock /tmp/mgc-heavy.lock bun scripts/bench/profile-grpc.ts authz-cold [N=10000] [out-dir]
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcDefinitions } from "../../src/grpc/server.ts";
import { summarize } from "./cpuprofile.ts";
import { checkOnce, type GrpcMethod, grpcFrame, h2load, requireH2load } from "./h2load.ts";
import { ROOT, startService } from "./proc.ts";
import { DOMAIN, seedSqlite } from "./scale-seed.ts";

requireH2load();
const which = process.argv[2] ?? "authz-cold";
if (!["authz-cold", "authz-warm", "authn-cold", "authn-warm"].includes(which)) throw new Error(`unknown case ${which}`);
const N = Number(process.argv[3] ?? 10_000);
const outDir = process.argv[4] ?? mkdtempSync(join(tmpdir(), "mgc-prof-"));
mkdirSync(outDir, { recursive: true });
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const profile = process.env.BENCH_PROFILE !== "0";
const data = mkdtempSync(join(tmpdir(), "mgc-prof-data-"));
try {
  const key = randomBytes(32);
  writeFileSync(join(data, "installation.key"), `${key.toString("hex")}\n`, { mode: 0o600 });
  const migrate = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), "migrate"], {
    cwd: ROOT,
    env: { ...process.env, MG_CLIENTS_DB_PATH: join(data, "clients.db") },
  });
  if (migrate.exitCode !== 0) throw new Error(`migrate failed: ${migrate.stderr}`);
  seedSqlite(join(data, "clients.db"), N, key);
  const conn = new Database(join(data, "clients.db"), { readonly: true });
  const pick = conn
    .query(
      `SELECT k.client_id AS client, k.channel_id AS channel, c.name AS name FROM connections k JOIN clients c ON c.id = k.client_id JOIN channels h ON h.id = k.channel_id
       WHERE k.type = 1 AND c.status = 0 AND h.status = 0 ORDER BY c.name LIMIT 1 OFFSET 4242`,
    )
    .get() as { client: string; channel: string; name: string };
  conn.close();
  if (profile) process.env.BENCH_BUN_FLAGS = `--cpu-prof --cpu-prof-dir=${outDir} --cpu-prof-interval=${process.env.BENCH_PROF_INTERVAL ?? 200}`;
  const svc = await startService(data, which.endsWith("cold") ? { MG_CLIENTS_CACHE_KEY_DURATION: "0" } : {});
  const protos = grpcDefinitions();
  const authz = protos.channels.Authorize as GrpcMethod;
  const authn = protos.clients.Authenticate as GrpcMethod;
  const secret = `secret-${pick.name.slice("device-".length)}`;
  const [method, frame] = which.startsWith("authz")
    ? [authz, grpcFrame(authz, { domain_id: DOMAIN, client_id: pick.client, client_type: "client", channel_id: pick.channel, type: 1 })]
    : [authn, grpcFrame(authn, { token: `Basic${Buffer.from(`${pick.client}:${secret}`).toString("base64")}` })];
  const reply = (await checkOnce(svc.grpcAddress, method, frame)) as { authorized?: boolean; authenticated?: boolean };
  if (!reply.authorized && !reply.authenticated) throw new Error(`not an allow: ${JSON.stringify(reply)}`);
  await h2load({ address: svc.grpcAddress, method, frame, seconds: 1, clients: 4, streams: 8, serverPid: svc.proc.pid }); // warm-up
  const r = await h2load({ address: svc.grpcAddress, method, frame, seconds, clients: 4, streams: 8, serverPid: svc.proc.pid });
  svc.proc.kill("SIGTERM");
  await svc.proc.exited;
  console.log(
    `${which}: ${r.rps.toFixed(0)} calls/s${profile ? " under the profiler" : ""}, server CPU ${r.cpu.server?.toFixed(0)} % (${((((r.cpu.server ?? 100) / 100) * 1e6) / r.rps).toFixed(1)} CPU µs per call), h2load ${r.cpu.generator.toFixed(0)} %, p50 ${r.p50.toFixed(2)} ms, ${r.errors} errors`,
  );
  if (profile) {
    const file = readdirSync(outDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no profile in ${outDir}`);
    summarize(join(outDir, file), { calls: r.rps * seconds, seconds, serverCpu: r.cpu.server ?? 100 });
  }
} finally {
  rmSync(data, { recursive: true, force: true });
}
