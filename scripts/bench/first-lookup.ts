// The storage part of a client's first gRPC call, without a network or a scheduler in the way:
// µs per lookup of the repositories' hot-path methods (Authenticate's clients.authRecord,
// Authorize's connections.clientMay) for ~1,000 clients none of them has looked at, on a database
// seeded by scale.ts, in three states of the OS page cache:
//   cold       the file's pages dropped first (what this VM's reclaim leaves after a minute unread)
//   prewarmed  dropped, then one pass of src/db/sqlite/prewarm.ts (what MG_CLIENTS_DB_PREWARM keeps)
//   cached     the whole file read into the page cache first
// Each state opens the database afresh (SQLite's own page cache empty) and first looks up 100
// other clients, as the gRPC phase of scale.ts warms its service.
//   bun scripts/bench/first-lookup.ts --data /var/tmp/scale-1m [--n 1000000] [--rounds 3]
import { Database as Sqlite } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClientsRepository } from "../../src/clients/repository.ts";
import { createConnectionsRepository } from "../../src/connections/repository.ts";
import { asDatabase } from "../../src/db/open.ts";
import { openSqlite } from "../../src/db/sqlite/open.ts";
import { startPrewarm } from "../../src/db/sqlite/prewarm.ts";
import { createLogger } from "../../src/log/logger.ts";
import { clientShape, DOMAIN } from "./scale-seed.ts";

const { values: args } = parseArgs({
  options: { data: { type: "string" }, n: { type: "string", default: "1000000" }, rounds: { type: "string", default: "3" } },
});
if (!args.data) throw new Error("--data DIR: a data directory seeded by scale.ts");
const N = Number(args.n);
const file = join(args.data, "clients.db");
const logger = createLogger("warn");

// The same picks as scale.ts's gRPC phase: ~1,000 enabled clients spread over the set, 100 others to warm up.
const K = Math.min(1000, Math.floor(N / 2));
const picks = Array.from({ length: 2 * K }, (_, k) => Math.floor((k * (N - 1)) / (2 * K - 1))).filter((i) => clientShape(i).status === 0);
const picked = new Set(picks);
const warmPicks = Array.from({ length: 100 }, (_, k) => Math.floor((k * (N - 2)) / 99) + 1).filter((i) => !picked.has(i) && clientShape(i).status === 0);
const ids = (xs: number[]) => {
  const conn = new Sqlite(file, { readonly: true });
  const rows = conn
    .query(
      `SELECT c.id, k.channel_id AS channel FROM clients c JOIN connections k ON k.client_id = c.id AND k.type = 1
       WHERE c.domain_id = '${DOMAIN}' AND c.name IN (${xs.map((i) => `'device-${i}'`).join(", ")})`,
    )
    .all() as { id: string; channel: string }[];
  conn.close();
  return rows;
};
const measured = ids(picks);
const warm = ids(warmPicks);

const pages = () => Number(Bun.spawnSync(["fincore", "--bytes", "--noheadings", "--output", "RES", file]).stdout.toString().trim()) / 2 ** 20;
const drop = () => {
  for (const f of [file, `${file}-wal`]) if (existsSync(f)) Bun.spawnSync(["dd", `if=${f}`, "iflag=nocache", "count=0", "status=none"]);
};

async function state(name: "cold" | "prewarmed" | "cached"): Promise<string> {
  drop();
  let note = "";
  if (name === "prewarmed") {
    const conn = new Sqlite(file, { readonly: true });
    const pass = await startPrewarm({ path: file, connection: conn, logger, everyMs: 1e9 }).first;
    conn.close();
    note = `, pass ${pass?.pages} pages in ${pass?.ms.toFixed(0)} ms`;
  }
  if (name === "cached") Bun.spawnSync(["cat", file], { stdout: "ignore" });
  const before = pages();
  const db = asDatabase(openSqlite({ path: file, logger, migrate: false, owner: "first-lookup" }));
  const clients = createClientsRepository(db);
  const connections = createConnectionsRepository(db);
  for (const w of warm) {
    clients.authRecord(w.id);
    connections.clientMay(DOMAIN, w.id, w.channel, 1);
  }
  const authn: number[] = [];
  const authz: number[] = [];
  for (let k = 0; k < measured.length; k++) {
    const m = measured[k]!;
    const t0 = performance.now();
    if (k % 2 === 0) {
      if (!clients.authRecord(m.id)) throw new Error("no auth record");
      authn.push((performance.now() - t0) * 1000);
    } else {
      if (!connections.clientMay(DOMAIN, m.id, m.channel, 1)) throw new Error("not connected");
      authz.push((performance.now() - t0) * 1000);
    }
  }
  await db.close();
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(0);
  return `| ${name} | ${before.toFixed(0)} MiB${note} | ${q(authn, 0.5)} / ${q(authn, 0.99)} / ${q(authn, 1)} | ${q(authz, 0.5)} / ${q(authz, 0.99)} / ${q(authz, 1)} |`;
}

console.log(`first lookups at ${N} clients (${measured.length} clients, ${warm.length} to warm up), µs p50 / p99 / max\n`);
console.log("| page cache | file resident before | authRecord (Authenticate) | clientMay (Authorize) |\n|---|---:|---:|---:|");
for (let r = 0; r < Number(args.rounds); r++) for (const s of ["cold", "prewarmed", "cached"] as const) console.log(await state(s));
