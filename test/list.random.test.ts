import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { onPostgres, queryStore } from "./helpers/backend.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * The list plans of issue #17 (counters, bucket descent for deep offsets, the terms and trigram
 * indexes, GIN on Postgres) must give exactly the answers of the plain query. Here: 2,500 clients
 * (bulks share a created_at; later updates spread their list times), then random combinations of
 * the §2 filters, orders and pages, each compared with a naive evaluator over every client as
 * GET returns it.
 */

let svc: TestService;
const D = "randdom";
const N = 2500;
const TAGS = ["red", "blue", "big", "old", "x%", "y_z"];
const WORDS = ["alpha", "beta", "Gamma", "DELTA", "eps%lon", "ze_ta", 'q"uote', "omega"];

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const rand = rng(17);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;

interface Seen {
  id: string;
  name: string;
  tags: string[];
  metadata: Record<string, unknown>;
  status: string;
  created: number;
  listTime: number;
}

/** RFC 3339 with microseconds → µs since 1970. */
function micros(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(t)!;
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}
const NEVER = "0001-01-01T00:00:00Z";

function metadataFor(i: number): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (chance(0.7)) m.floor = i % 5;
  if (chance(0.3)) m.model = pick(["x1", "x2", "X1", "3"]);
  if (chance(0.2)) m.ratio = pick([1.5, 2, 2.0, 0.1]);
  if (chance(0.2)) m.on = pick([true, false, null]);
  if (chance(0.2)) m.loc = { floor: i % 3, room: pick(["a", "b"]) };
  if (chance(0.1)) m.ports = [1, pick([2, 3]), { kind: pick(["usb", "eth"]) }];
  return m;
}
const nameFor = (i: number) => `${pick(WORDS)}-${i % 97}${chance(0.1) ? ` ${pick(WORDS)}` : ""}`;
const tagsFor = () => TAGS.filter(() => chance(0.3));

beforeAll(async () => {
  svc = await startTestService();
  for (let from = 0; from < N; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, N - from) }, (_, k) => ({ name: nameFor(from + k), tags: tagsFor(), metadata: metadataFor(from + k) }));
    const r = await svc.api("POST", `/${D}/clients/bulk`, batch);
    expect(r.status).toBe(200);
  }
  // Spread the list times and the statuses: updates, disables, a few deletes.
  const all = await everyClient();
  for (const c of all.slice(0, 300)) {
    const what = rand();
    let r: { status: number };
    if (what < 0.3) r = await svc.api("PATCH", `/${D}/clients/${c.id}`, { name: nameFor(Math.floor(rand() * 1000)) });
    else if (what < 0.5) r = await svc.api("PATCH", `/${D}/clients/${c.id}/tags`, { tags: tagsFor() });
    else if (what < 0.7) r = await svc.api("PATCH", `/${D}/clients/${c.id}`, { metadata: metadataFor(Math.floor(rand() * 1000)) });
    else if (what < 0.9) r = await svc.api("POST", `/${D}/clients/${c.id}/disable`);
    else r = await svc.api("DELETE", `/${D}/clients/${c.id}`);
    expect(r.status).toBeLessThan(300);
  }
}, 120_000);
afterAll(() => svc.dispose());

/** Every client as GET shows it (ids from a status=all walk, each then read on its own). */
async function everyClient(domain = D): Promise<Seen[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 100) {
    const r = await svc.api("GET", `/${domain}/clients?status=all&limit=100&offset=${offset}&order=created_at&dir=asc`);
    for (const c of r.json.clients ?? []) ids.push(c.id);
    if ((r.json.clients ?? []).length < 100) break;
  }
  const out: Seen[] = [];
  for (const id of ids) {
    const c = (await svc.api("GET", `/${domain}/clients/${id}`)).json;
    const created = micros(c.created_at);
    out.push({
      id,
      name: c.name ?? "",
      tags: c.tags ?? [],
      metadata: c.metadata ?? {},
      status: c.status,
      created,
      listTime: c.updated_at === NEVER ? created : micros(c.updated_at),
    });
  }
  return out;
}

/** jsonb `@>`: objects key by key, arrays element-wise (each query element in some element), scalars equal. */
function contains(doc: unknown, q: unknown): boolean {
  if (q !== null && typeof q === "object" && !Array.isArray(q)) {
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return false;
    return Object.entries(q).every(([k, v]) => k in (doc as object) && contains((doc as Record<string, unknown>)[k], v));
  }
  if (Array.isArray(q)) return Array.isArray(doc) && q.every((e) => doc.some((d) => contains(d, e)));
  return doc === q;
}

interface Query {
  params: Record<string, string>;
  status: string;
  name?: string;
  tags?: { op: "any" | "all"; values: string[] };
  metadata?: Record<string, unknown>;
  from?: number;
  to?: number;
  order: "name" | "created_at" | "updated_at";
  dir: "asc" | "desc";
  limit: number;
  offset: number;
  onlyTotal: boolean;
}

const iso = (us: number) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, -1)}${String(us % 1000).padStart(3, "0")}Z`;

function randomQuery(clients: Seen[]): Query {
  const q: Query = { params: {}, status: "enabled", order: "updated_at", dir: "desc", limit: 10, offset: 0, onlyTotal: false };
  if (chance(0.3)) q.status = pick(["enabled", "disabled", "all"]);
  if (chance(0.35)) {
    const source = pick(clients).name;
    const at = Math.floor(rand() * source.length);
    q.name = chance(0.1) ? "nothing-like-it" : source.slice(at, at + 1 + Math.floor(rand() * 6)).toUpperCase();
    if (q.name === "") q.name = undefined;
  }
  if (chance(0.35)) q.tags = { op: pick(["any", "all"] as const), values: TAGS.filter(() => chance(0.3)).slice(0, 3) };
  if (q.tags && q.tags.values.length === 0) q.tags = undefined;
  if (chance(0.35))
    q.metadata = pick([
      { floor: Math.floor(rand() * 5) },
      { model: pick(["x1", "X1", "3"]) },
      { ratio: pick([2, 1.5]) },
      { on: pick([true, null]) },
      { floor: 1, model: "x1" },
      { loc: { floor: 1 } },
      { ports: [{ kind: "usb" }] },
      {},
    ]);
  if (chance(0.15)) {
    const a = pick(clients).created;
    q.from = a - 1;
    q.to = a + Math.floor(rand() * 5_000_000);
  }
  if (chance(0.4)) q.order = pick(onPostgres ? (["created_at", "updated_at"] as const) : (["name", "created_at", "updated_at"] as const));
  if (chance(0.5)) q.dir = pick(["asc", "desc"] as const);
  if (chance(0.5)) q.limit = 1 + Math.floor(rand() * 40);
  if (chance(0.5)) q.offset = chance(0.5) ? Math.floor(rand() * 30) : Math.floor(rand() * (N + 50));
  q.onlyTotal = chance(0.1);
  const p = q.params;
  if (q.status !== "enabled") p.status = q.status;
  if (q.name) p.name = q.name;
  if (q.tags) p.tags = q.tags.values.join(q.tags.op === "any" ? "," : "+");
  if (q.metadata) p.metadata = JSON.stringify(q.metadata);
  if (q.from !== undefined) p.created_from = iso(q.from);
  if (q.to !== undefined) p.created_to = iso(q.to);
  if (q.order !== "updated_at") p.order = q.order;
  if (q.dir !== "desc") p.dir = q.dir;
  p.limit = String(q.limit);
  if (q.offset) p.offset = String(q.offset);
  if (q.onlyTotal) p.only_total = "true";
  return q;
}

function naive(clients: Seen[], q: Query): { total: number; ids: string[] } {
  const match = clients.filter((c) => {
    if (q.status !== "all" && c.status !== q.status) return false;
    if (q.name && !c.name.toLowerCase().includes(q.name.toLowerCase())) return false;
    if (q.tags && !(q.tags.op === "any" ? q.tags.values.some((t) => c.tags.includes(t)) : q.tags.values.every((t) => c.tags.includes(t)))) return false;
    if (q.metadata && !contains(c.metadata, q.metadata)) return false;
    if (q.from !== undefined && c.created < q.from) return false;
    if (q.to !== undefined && c.created > q.to) return false;
    return true;
  });
  const key = (c: Seen) => (q.order === "name" ? c.name : q.order === "created_at" ? c.created : c.listTime);
  const sign = q.dir === "asc" ? 1 : -1;
  match.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return (ka < kb ? -1 : 1) * sign;
    return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * sign;
  });
  const ids = q.onlyTotal ? [] : match.slice(q.offset, q.offset + q.limit).map((c) => c.id);
  return { total: match.length, ids };
}

describe("lists answer as a naive evaluator does", () => {
  test("400 random queries: same total, same page, same order", async () => {
    const clients = await everyClient();
    expect(clients.length).toBeGreaterThan(N - 100);
    const deep = { descents: 0, terms: 0 };
    for (let i = 0; i < 400; i++) {
      const q = randomQuery(clients);
      const r = await svc.api("GET", `/${D}/clients?${new URLSearchParams(q.params)}`);
      expect(r.status).toBe(200);
      const want = naive(clients, q);
      const got = { total: r.json.total, ids: (r.json.clients ?? []).map((c: { id: string }) => c.id) };
      if (JSON.stringify(got) !== JSON.stringify(want))
        throw new Error(`query ${i} ${JSON.stringify(q.params)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      if (q.offset >= 2000) deep.descents++;
      if ((q.tags || q.metadata) && !q.name) deep.terms++;
    }
    // The interesting plans were exercised.
    expect(deep.descents).toBeGreaterThan(10);
    expect(deep.terms).toBeGreaterThan(50);
    await expectExactPairs();
  }, 120_000);
});

/**
 * SQLite: the tag pairs the triggers kept (migration 0007) are those a count from the rows gives,
 * after all the creates, updates, disables and deletes (the same query as the migration's backfill).
 */
async function expectExactPairs(): Promise<void> {
  if (onPostgres) return;
  const kept = await queryStore(svc.store, "SELECT domain_id, a, b, status, n FROM client_tag_pairs ORDER BY 1, 2, 3, 4");
  const counted = await queryStore(
    svc.store,
    `SELECT domain_id, a, b, status, count(*) AS n FROM (
       SELECT DISTINCT e.rowid, e.domain_id, e.status, x.value AS a, y.value AS b FROM clients e, json_each(e.tags) x, json_each(e.tags) y
       WHERE x.type = 'text' AND y.type = 'text' AND x.value < y.value AND (SELECT count(DISTINCT value) FROM json_each(e.tags) WHERE type = 'text') <= 32)
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  );
  expect(kept).toEqual(counted);
  const uncounted = await queryStore(svc.store, "SELECT kind, domain_id, status, n FROM tag_pairs_uncounted ORDER BY 1, 2, 3");
  const over = await queryStore(
    svc.store,
    `SELECT 'client' AS kind, domain_id, status, count(*) AS n FROM clients e WHERE (SELECT count(DISTINCT value) FROM json_each(e.tags) WHERE type = 'text') > 32
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  expect(uncounted).toEqual(over);
}

/**
 * Two tags (any / all) take their total from kept pair counts on SQLite, except in a domain and
 * status where an entity has more than 32 distinct tags (its pairs are not kept, and the lists
 * count as before). Both ways, and the way back once no entity is over the cap, answer as the
 * naive evaluator does; duplicate tags in an entity or a filter count once.
 */
describe("two tags, with entities over the pair cap", () => {
  const M = "manytags";
  const POOL = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"];
  const wide = (k: number) => [...POOL.filter((_, i) => i % 2 === k % 2), ...Array.from({ length: 36 }, (_, i) => `w${k}-${i}`)];

  async function compare(rounds: number): Promise<void> {
    const clients = await everyClient(M);
    for (let i = 0; i < rounds; i++) {
      const a = pick(POOL);
      const b = chance(0.1) ? a : pick(POOL);
      const op = pick(["any", "all"] as const);
      const q: Query = {
        params: {},
        status: pick(["enabled", "enabled", "disabled"]),
        tags: { op, values: [a, b] },
        order: "updated_at",
        dir: pick(["asc", "desc"] as const),
        limit: 1 + Math.floor(rand() * 20),
        offset: chance(0.3) ? Math.floor(rand() * 60) : 0,
        onlyTotal: chance(0.1),
      };
      q.params = {
        tags: `${a}${op === "any" ? "," : "+"}${b}`,
        status: q.status,
        dir: q.dir,
        limit: String(q.limit),
        offset: String(q.offset),
        ...(q.onlyTotal ? { only_total: "true" } : {}),
      };
      const r = await svc.api("GET", `/${M}/clients?${new URLSearchParams(q.params)}`);
      expect(r.status).toBe(200);
      const want = naive(clients, q);
      const got = { total: r.json.total, ids: (r.json.clients ?? []).map((c: { id: string }) => c.id) };
      if (JSON.stringify(got) !== JSON.stringify(want))
        throw new Error(`query ${i} ${JSON.stringify(q.params)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
  }

  test("over the cap, back under it: the same answers", async () => {
    const batch = Array.from({ length: 150 }, (_, i) => ({
      name: `m-${i}`,
      tags: chance(0.2) ? [...tagsOf(POOL), pick(POOL)] : tagsOf(POOL),
    }));
    expect((await svc.api("POST", `/${M}/clients/bulk`, batch)).status).toBe(200);
    const created = await everyClient(M);
    for (const c of created.slice(0, 20)) expect((await svc.api("POST", `/${M}/clients/${c.id}/disable`)).status).toBe(200);
    await compare(60);
    // Two entities over the cap (44 distinct tags each), one enabled, one disabled.
    const over: string[] = [];
    for (const k of [0, 1]) {
      const r = await svc.api("POST", `/${M}/clients`, { name: `wide-${k}`, tags: wide(k) });
      expect(r.status).toBe(201);
      over.push(r.json.id);
    }
    expect((await svc.api("POST", `/${M}/clients/${over[1]}/disable`)).status).toBe(200);
    await expectExactPairs();
    await compare(60);
    // Back under the cap: one re-tagged, the other deleted.
    expect((await svc.api("PATCH", `/${M}/clients/${over[0]}/tags`, { tags: POOL.slice(0, 3) })).status).toBe(200);
    expect((await svc.api("DELETE", `/${M}/clients/${over[1]}`)).status).toBe(204);
    await expectExactPairs();
    if (!onPostgres) expect(await queryStore(svc.store, "SELECT * FROM tag_pairs_uncounted WHERE domain_id = ?", [M])).toEqual([]);
    await compare(60);
  }, 120_000);
});

const tagsOf = (pool: string[]) => pool.filter(() => chance(0.35));
