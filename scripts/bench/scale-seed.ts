// Seeding for scripts/bench/scale.ts: N clients, N/100 channels and 2N connections in one domain,
// written straight into the database (bun:sqlite, or COPY on Postgres) in the shape the service
// writes them: each entity with its built-in role (every action, the standalone admin as member),
// secrets stored as the service hashes them. The schema comes from the service's own migrations
// (`migrate`), so whatever the migrations add beside the tables (indexes, triggers) is maintained as
// for any other insert. Deterministic but for ids: client i is `device-i`, secret `secret-i`.
import { Database as Sqlite } from "bun:sqlite";
import { randomBytes, randomUUID } from "node:crypto";
import postgres from "postgres";
import { createSecretHasher } from "../../src/auth/secrets.ts";
import { AVAILABLE_ACTIONS } from "../../src/roles/types.ts";

export const DOMAIN = "scale";
export const ADMIN_ID = "a0000000-0000-4000-8000-000000000001";
/** created_at of client 0 (µs); client i is created i ms later. */
export const T0_US = Date.UTC(2026, 0, 1) * 1000;
export const channelsFor = (n: number) => Math.max(10, Math.floor(n / 100));

/** What client i looks like (the lists of scale.ts filter on exactly these). */
export const clientShape = (i: number) => ({
  name: `device-${i}`,
  tags: [`rack-${i % 50}`, `zone-${i % 7}`],
  metadata: { floor: i % 10, model: `m-${i % 100}` },
  /** every 100th client is disabled */
  status: i % 100 === 99 ? 1 : 0,
  createdAt: T0_US + i * 1000,
  /** every 10th client was updated a while after it was created */
  updatedAt: i % 10 === 5 ? T0_US + i * 1000 + 600_000_000 : null,
});
/** The two channels client i is connected to: publish on one, subscribe on the other. */
export const channelsOf = (i: number, c: number) => [i % c, (i + Math.floor(c / 2)) % c] as const;

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
function shortId(): string {
  let s = "";
  for (const b of randomBytes(20)) s += ALPHABET[b % 36];
  return s;
}

interface Rows {
  clients: unknown[][];
  clientRoles: unknown[][];
  clientActions: unknown[][];
  clientMembers: unknown[][];
}

/** The rows of clients [from, to). Column orders are those of the INSERT/COPY statements below. */
function clientRows(from: number, to: number, hash: (secret: string) => string): { rows: Rows; ids: string[] } {
  const rows: Rows = { clients: [], clientRoles: [], clientActions: [], clientMembers: [] };
  const ids: string[] = [];
  for (let i = from; i < to; i++) {
    const s = clientShape(i);
    const id = randomUUID();
    ids.push(id);
    rows.clients.push([
      id,
      DOMAIN,
      s.name,
      JSON.stringify(s.tags),
      "",
      hash(`secret-${i}`),
      JSON.stringify(s.metadata),
      "{}",
      null,
      s.status,
      s.createdAt,
      s.updatedAt,
      s.updatedAt === null ? null : ADMIN_ID,
    ]);
    const roleId = `client_${shortId()}`;
    rows.clientRoles.push([roleId, id, "admin", ADMIN_ID, s.createdAt, null, null]);
    for (const a of AVAILABLE_ACTIONS.client) rows.clientActions.push([roleId, a]);
    rows.clientMembers.push([roleId, id, ADMIN_ID]);
  }
  return { rows, ids };
}

const CLIENT_COLS = [
  "id",
  "domain_id",
  "name",
  "tags",
  "identity",
  "secret_hash",
  "metadata",
  "private_metadata",
  "parent_group_id",
  "status",
  "created_at",
  "updated_at",
  "updated_by",
];
const CHANNEL_COLS = ["id", "domain_id", "name", "tags", "metadata", "route", "parent_group_id", "status", "created_at", "updated_at", "updated_by"];
const ROLE_COLS = ["id", "entity_id", "name", "created_by", "created_at", "updated_by", "updated_at"];
const ACTION_COLS = ["role_id", "action"];
const MEMBER_COLS = ["role_id", "entity_id", "member_id"];
const CONNECTION_COLS = ["channel_id", "domain_id", "client_id", "type"];

function channelRows(c: number) {
  const channels: unknown[][] = [];
  const roles: unknown[][] = [];
  const actions: unknown[][] = [];
  const members: unknown[][] = [];
  const ids: string[] = [];
  for (let k = 0; k < c; k++) {
    const id = randomUUID();
    ids.push(id);
    channels.push([id, DOMAIN, `ch-${k}`, "[]", "{}", null, null, 0, T0_US + k, null, null]);
    const roleId = `channel_${shortId()}`;
    roles.push([roleId, id, "admin", ADMIN_ID, T0_US + k, null, null]);
    for (const a of AVAILABLE_ACTIONS.channel) actions.push([roleId, a]);
    members.push([roleId, id, ADMIN_ID]);
  }
  return { channels, roles, actions, members, ids };
}

const BATCH = 20_000;
const log = (s: string) => console.log(`[seed] ${s}`);

/** Seeds an empty, migrated SQLite database. */
export function seedSqlite(path: string, n: number, key: Buffer): void {
  const hasher = createSecretHasher(key);
  const hash = (s: string) => hasher.hash(DOMAIN, s);
  const db = new Sqlite(path, { readwrite: true });
  db.exec("PRAGMA synchronous = OFF");
  db.exec("PRAGMA cache_size = -1000000");
  db.exec("PRAGMA foreign_keys = OFF");
  const insert = (table: string, cols: string[]) => db.prepare(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`);
  const put = {
    clients: insert("clients", CLIENT_COLS),
    clientRoles: insert("client_roles", ROLE_COLS),
    clientActions: insert("client_role_actions", ACTION_COLS),
    clientMembers: insert("client_role_members", MEMBER_COLS),
    channels: insert("channels", CHANNEL_COLS),
    channelRoles: insert("channel_roles", ROLE_COLS),
    channelActions: insert("channel_role_actions", ACTION_COLS),
    channelMembers: insert("channel_role_members", MEMBER_COLS),
    connections: insert("connections", CONNECTION_COLS),
  };
  const run = (stmt: ReturnType<typeof insert>, rows: unknown[][]) => {
    for (const r of rows) stmt.run(...(r as never[]));
  };
  const t0 = performance.now();
  const c = channelsFor(n);
  const ch = channelRows(c);
  db.transaction(() => {
    run(put.channels, ch.channels);
    run(put.channelRoles, ch.roles);
    run(put.channelActions, ch.actions);
    run(put.channelMembers, ch.members);
  })();
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(n, from + BATCH);
    const { rows, ids } = clientRows(from, to, hash);
    db.transaction(() => {
      run(put.clients, rows.clients);
      run(put.clientRoles, rows.clientRoles);
      run(put.clientActions, rows.clientActions);
      run(put.clientMembers, rows.clientMembers);
      ids.forEach((id, k) => {
        const [pub, sub] = channelsOf(from + k, c);
        put.connections.run(ch.ids[pub]!, DOMAIN, id, 1);
        put.connections.run(ch.ids[sub]!, DOMAIN, id, 2);
      });
    })();
    if ((to / BATCH) % 10 === 0 || to === n) log(`${to} clients (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  log("ANALYZE");
  db.exec("ANALYZE");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  log(`SQLite: ${n} clients, ${c} channels, ${2 * n} connections in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** COPY text format: tab-separated, \N for null, backslash escapes. */
const copyLine = (row: unknown[]) =>
  `${row.map((v) => (v === null ? "\\N" : String(v).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r"))).join("\t")}\n`;

async function copy(sql: postgres.Sql, table: string, cols: string[], rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const stream = await sql.unsafe(`COPY ${table} (${cols.join(", ")}) FROM STDIN`).writable();
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("finish", resolve);
    let chunk = "";
    for (const r of rows) {
      chunk += copyLine(r);
      if (chunk.length > 1 << 20) {
        stream.write(chunk);
        chunk = "";
      }
    }
    stream.end(chunk);
  });
}

/** Seeds an empty, migrated Postgres database. */
export async function seedPostgres(url: string, n: number, key: Buffer): Promise<void> {
  const hasher = createSecretHasher(key);
  const hash = (s: string) => hasher.hash(DOMAIN, s);
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  const t0 = performance.now();
  try {
    await sql`SET synchronous_commit = off`;
    const c = channelsFor(n);
    const ch = channelRows(c);
    await copy(sql, "channels", CHANNEL_COLS, ch.channels);
    await copy(sql, "channel_roles", ROLE_COLS, ch.roles);
    await copy(sql, "channel_role_actions", ACTION_COLS, ch.actions);
    await copy(sql, "channel_role_members", MEMBER_COLS, ch.members);
    for (let from = 0; from < n; from += BATCH) {
      const to = Math.min(n, from + BATCH);
      const { rows, ids } = clientRows(from, to, hash);
      await copy(sql, "clients", CLIENT_COLS, rows.clients);
      await copy(sql, "client_roles", ROLE_COLS, rows.clientRoles);
      await copy(sql, "client_role_actions", ACTION_COLS, rows.clientActions);
      await copy(sql, "client_role_members", MEMBER_COLS, rows.clientMembers);
      const conns: unknown[][] = [];
      ids.forEach((id, k) => {
        const [pub, sub] = channelsOf(from + k, c);
        conns.push([ch.ids[pub]!, DOMAIN, id, 1], [ch.ids[sub]!, DOMAIN, id, 2]);
      });
      await copy(sql, "connections", CONNECTION_COLS, conns);
      if ((to / BATCH) % 10 === 0 || to === n) log(`${to} clients (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    log("VACUUM ANALYZE");
    await sql`VACUUM ANALYZE`;
    log(`Postgres: ${n} clients, ${c} channels, ${2 * n} connections in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await sql.end();
  }
}
