import { and, asc, desc, getTableName, inArray, type SQL, sql } from "drizzle-orm";
import type { ListFilter } from "../../domain/list.ts";
import type { Database } from "../database.ts";
import type { PgExecutor } from "../executors.ts";
import type { Executor, Tables } from "../portable.ts";

/**
 * How a list of contract §2 is read so that it stays an index walk at a million entities
 * (issue #17). The answer is always that of the plain query — the conditions of listConditions,
 * counted, then paged in order — these are only faster ways to the same rows, using what
 * migration 0003 keeps beside the entity tables (by triggers, in every write's transaction):
 *
 * - entity_counts (both databases): entities per kind, domain and status, in buckets of their
 *   list time at three widths. A list filtered by status alone takes its total from there (no
 *   count over a million index entries), and a deep offset in the default order descends the
 *   buckets to the one where the page starts, then skips only within it.
 * - SQLite: <kind>_terms (tags and top-level metadata members, with status and list time; one
 *   term's total in <kind>_term_counts, two tags' in <kind>_tag_pairs of migration 0007) and
 *   <table>_name_fts (FTS5 trigram index of the names). A list filtered by tags and/or scalar
 *   metadata members alone counts and pages inside the terms index; a name substring (3
 *   characters or more) takes its candidates from the trigram index, the exact condition still
 *   applied to each. Postgres has GIN indexes for the same filters (pg_trgm, jsonb), used by its
 *   planner on the conditions as they are.
 */

type EntityTable = Tables["clients"] | Tables["channels"];
type Page<Row> = { total: number; items: Row[] };

/** "Last touched" time: updated_at, else created_at. Spelled exactly as in the schema's index. */
const sortTime = (table: EntityTable) => sql`(CASE WHEN ${table.updatedAt} IS NULL THEN ${table.createdAt} ELSE ${table.updatedAt} END)`;

/** Bucket widths of entity_counts' levels 1, 2, 3, as bit shifts of the list time (µs). */
const LEVEL_SHIFTS = [42, 32, 22] as const;
/** Below this offset the index walk is cheaper than descending the buckets. */
const DEEP_OFFSET = 2000;

const STATUS: Record<string, number> = { enabled: 0, disabled: 1, deleted: 2 };

/** Rows of a raw query on either database. */
async function rows<T>(db: Database, query: SQL): Promise<T[]> {
  if (db.dialect === "sqlite") return (db.read as unknown as { all(q: SQL): T[] }).all(query);
  return (await (db.read as unknown as PgExecutor).execute(query)) as unknown as T[];
}

/** Filters beyond the status: none of them means the list is a domain's entities of one status. */
function statusOnly(f: ListFilter): boolean {
  const metadata = f.metadata !== undefined && Object.keys(f.metadata).length > 0;
  return (
    !f.name &&
    !f.id &&
    !f.tags &&
    !metadata &&
    f.createdFrom === undefined &&
    f.createdTo === undefined &&
    f.group === undefined &&
    !f.connectedTo &&
    !f.member &&
    f.connected === undefined
  );
}

export interface ListPlanOptions {
  db: Database;
  table: EntityTable;
  domainId: string;
  filter: ListFilter;
  /** The plain conditions (listConditions plus the connection and role subsets). */
  conditions: SQL[];
}

export async function listEntities<Row>(o: ListPlanOptions): Promise<Page<Row>> {
  const { db, filter: f } = o;
  const status = STATUS[f.status];
  if (status !== undefined && statusOnly(f)) return statusPage<Row>(o, status);
  if (db.dialect === "sqlite") {
    const terms = await termGroups(o);
    if (terms && status !== undefined && f.order === "updated_at" && termsOnly(f)) return termsPage<Row>(o, status, terms.groups);
    const hints: SQL[] = [];
    if (terms) hints.push(termsHint(o, terms.groups));
    const fts = nameHint(o);
    if (fts) hints.push(fts);
    return plainPage<Row>(db.read, o.table, and(...o.conditions, ...hints), f);
  }
  return plainPage<Row>(db.read, o.table, and(...o.conditions), f);
}

/** Counts the matches, then reads one page of them in the requested order (ties broken by id). */
async function plainPage<Row>(exec: Executor, table: EntityTable, where: SQL | undefined, f: ListFilter, known?: { total: number }): Promise<Page<Row>> {
  let total = known?.total;
  if (total === undefined) {
    const [row = { total: 0 }] = await exec
      .select({ total: sql<number>`count(*)`.mapWith(Number) })
      .from(table)
      .where(where);
    total = row.total;
  }
  if (f.onlyTotal || total === 0 || f.offset >= total) return { total, items: [] };
  const order = f.dir === "asc" ? asc : desc;
  const key = f.order === "name" ? table.name : f.order === "created_at" ? table.createdAt : sortTime(table);
  // The page's ids first, then their rows: the ids (and the rows skipped over) can come from an
  // index alone, where selecting whole rows would read every skipped or sorted row.
  const ids = (await exec.select({ id: table.id }).from(table).where(where).orderBy(order(key), order(table.id)).limit(f.limit).offset(f.offset)).map(
    (r) => r.id,
  );
  return { total, items: await rowsInOrder<Row>(exec, table, ids) };
}

/** The rows with these ids, in the ids' order. */
async function rowsInOrder<Row>(exec: Executor, table: EntityTable, ids: string[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  const found = (await exec.select().from(table).where(inArray(table.id, ids))) as (Row & { id: string })[];
  const byId = new Map(found.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is Row & { id: string } => r !== undefined);
}

const kindOf = (table: EntityTable) => (getTableName(table) === "clients" ? "client" : "channel");

/** A domain's entities of one status: the total from entity_counts; a deep offset through its buckets. */
async function statusPage<Row>(o: ListPlanOptions, status: number): Promise<Page<Row>> {
  const { db, table, filter: f } = o;
  const kind = kindOf(table);
  const counted = (level: number, range?: [number, number]) =>
    rows<{ bucket: number | string; n: number | string }>(
      db,
      sql`SELECT bucket, sum(n) AS n FROM entity_counts
          WHERE kind = ${kind} AND domain_id = ${o.domainId} AND status = ${status} AND level = ${level}
          ${range ? sql`AND bucket BETWEEN ${range[0]} AND ${range[1]}` : sql``}
          GROUP BY bucket HAVING sum(n) <> 0 ORDER BY bucket ${sql.raw(f.dir === "asc" ? "ASC" : "DESC")}`,
    );
  const top = await counted(1);
  const total = top.reduce((s, r) => s + Number(r.n), 0);
  if (f.onlyTotal || total === 0 || f.offset >= total || f.order !== "updated_at" || f.offset < DEEP_OFFSET)
    return plainPage<Row>(db.read, table, and(...o.conditions), f, { total });
  // Descend: at each level, the bucket in which the offset falls (buckets in list order).
  let skipped = 0;
  let level = top;
  let bucket = 0;
  for (let l = 0; ; l++) {
    for (const r of level) {
      const n = Number(r.n);
      bucket = Number(r.bucket);
      if (skipped + n > f.offset) break;
      skipped += n;
    }
    if (l === LEVEL_SHIFTS.length - 1) break;
    const width = 2 ** (LEVEL_SHIFTS[l]! - LEVEL_SHIFTS[l + 1]!);
    level = await counted(l + 2, [bucket * width, (bucket + 1) * width - 1]);
  }
  // The entities before that bucket (in list order) are the `skipped` ones: start after them.
  const edge = 2 ** LEVEL_SHIFTS[LEVEL_SHIFTS.length - 1]!;
  const bound = f.dir === "asc" ? sql`${sortTime(table)} >= ${bucket * edge}` : sql`${sortTime(table)} < ${(bucket + 1) * edge}`;
  const page = await plainPage<Row>(db.read, table, and(...o.conditions, bound), { ...f, offset: f.offset - skipped }, { total: total - skipped });
  return { total, items: page.items };
}

/** The filters the terms index answers exactly: tags, and metadata whose members are all scalars. */
function termsOnly(f: ListFilter): boolean {
  const scalarMetadata = f.metadata === undefined || Object.values(f.metadata).every((v) => v === null || typeof v !== "object");
  return (
    scalarMetadata &&
    !f.name &&
    !f.id &&
    f.createdFrom === undefined &&
    f.createdTo === undefined &&
    f.group === undefined &&
    !f.connectedTo &&
    !f.member &&
    f.connected === undefined
  );
}

/**
 * The filter's terms, as groups that must all match, each matching when any of its terms does:
 * tags any → one group; tags all → a group per tag; each metadata member → a group of one. The
 * metadata terms are spelled by SQLite itself (the same expression as the triggers').
 */
async function termGroups(o: ListPlanOptions): Promise<{ groups: string[][] } | undefined> {
  const { filter: f } = o;
  const groups: string[][] = [];
  if (f.tags) {
    const tags = [...new Set(f.tags.values)].map((t) => `t${t}`);
    if (f.tags.op === "any") groups.push(tags);
    else for (const t of tags) groups.push([t]);
  }
  if (f.metadata && Object.keys(f.metadata).length > 0) {
    const terms = await rows<{ term: string }>(
      o.db,
      sql`SELECT 'm' || json_quote(key) || ':' || (CASE type WHEN 'text' THEN json_quote(atom) WHEN 'integer' THEN CAST(atom AS TEXT)
            WHEN 'real' THEN (CASE WHEN atom = CAST(atom AS INTEGER) THEN CAST(CAST(atom AS INTEGER) AS TEXT) ELSE printf('%!.17g', atom) END)
            ELSE type END) AS term FROM json_each(${JSON.stringify(f.metadata)})`,
    );
    for (const t of terms) groups.push([t.term]);
  }
  return groups.length > 0 ? { groups } : undefined;
}

const termTable = (table: EntityTable) => sql.raw(`${kindOf(table)}_terms`);
const list = (xs: string[]) =>
  sql.join(
    xs.map((x) => sql`${x}`),
    sql`, `,
  );

/** Candidates for the general query: the entities having a term of the filter's smallest group. */
function termsHint(o: ListPlanOptions, groups: string[][]): SQL {
  const smallest = groups.reduce((a, b) => (b.length < a.length ? b : a));
  return sql`${o.table.id} IN (SELECT entity_id FROM ${termTable(o.table)} WHERE domain_id = ${o.domainId} AND term IN (${list(smallest)}))`;
}

/** Candidates for a name substring of 3 characters or more: the trigram index's matches of it (case-folded). */
function nameHint(o: ListPlanOptions): SQL | undefined {
  const needle = o.filter.name?.toLowerCase();
  if (!needle || [...needle].length < 3) return undefined;
  const fts = sql.raw(`${getTableName(o.table)}_name_fts`);
  return sql`${o.table}.rowid IN (SELECT rowid FROM ${fts} WHERE ${fts} MATCH ${`"${needle.replaceAll('"', '""')}"`})`;
}

/**
 * Tags and scalar metadata alone, default order: counted and paged in the terms index. One group
 * drives (the one with fewest terms, or with two tags the rarer one); the others are probes on the
 * same entity. A group of several terms is walked term by term, each for the first offset + limit
 * entries in list order, merged.
 */
async function termsPage<Row>(o: ListPlanOptions, status: number, groups: string[][]): Promise<Page<Row>> {
  const { db, filter: f } = o;
  const table = termTable(o.table);
  const kept = await keptTotal(o, status, groups);
  const driver = kept?.driver ?? groups.reduce((a, b) => (b.length < a.length ? b : a));
  const others = groups.filter((g) => g !== driver);
  // A probe looks for the same entry (same list time and entity) under another term: a seek in the
  // primary key, and as the driver is walked in list order, the probes move forward through the
  // other term's range page by page (a probe by entity id would land on a random page each time).
  const has = (alias: string, terms: string[]) =>
    sql`EXISTS (SELECT 1 FROM ${table} ${sql.raw(alias)} WHERE ${sql.raw(alias)}.domain_id = t.domain_id AND ${sql.raw(alias)}.term IN (${list(terms)}) AND ${sql.raw(alias)}.status = t.status AND ${sql.raw(alias)}.sort_at = t.sort_at AND +${sql.raw(alias)}.entity_id = t.entity_id)`;
  const probes = others.map((g, i) => sql` AND ${has(`u${i}`, g)}`);
  const base = (term: SQL) => sql`FROM ${table} t WHERE t.domain_id = ${o.domainId} AND ${term} AND t.status = ${status}${sql.join(probes, sql``)}`;
  let total = kept?.total;
  if (total === undefined) {
    // Several terms driving (tags any): each term's entries that no earlier term has, added up.
    const counted = sql.join(
      driver.map((term, i) => sql`(SELECT count(*) ${base(sql`t.term = ${term}`)}${i > 0 ? sql` AND NOT ${has("e", driver.slice(0, i))}` : sql``})`),
      sql` + `,
    );
    const [{ n } = { n: 0 }] = await rows<{ n: number }>(db, sql`SELECT ${counted} AS n`);
    total = Number(n);
  }
  if (f.onlyTotal || total === 0 || f.offset >= total) return { total, items: [] };
  const dir = sql.raw(f.dir === "asc" ? "ASC" : "DESC");
  const ordered = (term: string, limit: number, offset: number) =>
    sql`SELECT t.entity_id, t.sort_at ${base(sql`t.term = ${term}`)} ORDER BY t.sort_at ${dir}, t.entity_id ${dir} LIMIT ${limit} OFFSET ${offset}`;
  const paged =
    driver.length === 1
      ? ordered(driver[0]!, f.limit, f.offset)
      : sql`SELECT entity_id, sort_at FROM (${sql.join(
          driver.map((term) => sql`SELECT * FROM (${ordered(term, f.offset + f.limit, 0)})`),
          sql` UNION `,
        )}) ORDER BY sort_at ${dir}, entity_id ${dir} LIMIT ${f.limit} OFFSET ${f.offset}`;
  const ids = (await rows<{ entity_id: string }>(db, paged)).map((r) => r.entity_id);
  return { total, items: await rowsInOrder<Row>(db.read, o.table, ids) };
}

/**
 * The total of a terms list from the counts the triggers keep, when they answer it: one term
 * (migration 0004's <kind>_term_counts), or two tags alone (0007's <kind>_tag_pairs: all {a, b} is
 * the pair's count, any {a, b} is n(a) + n(b) minus it), unless an entity of this domain and status
 * has more than 32 distinct tags and so no pairs (tag_pairs_uncounted). Three tags or more, or tags
 * with metadata, are counted by walking (undefined here). With two tags all, the rarer one drives
 * the page's walk: fewer entries to pass before each match.
 */
async function keptTotal(o: ListPlanOptions, status: number, groups: string[][]): Promise<{ total: number; driver?: string[] } | undefined> {
  const { db, filter: f } = o;
  const kind = kindOf(o.table);
  const counts = sql.raw(`${kind}_term_counts`);
  const count = (term: string) => sql`(SELECT n FROM ${counts} WHERE domain_id = ${o.domainId} AND term = ${term} AND status = ${status})`;
  if (groups.length === 1 && groups[0]!.length === 1) {
    const [{ n } = { n: 0 }] = await rows<{ n: number | null }>(db, sql`SELECT ${count(groups[0]![0]!)} AS n`);
    return { total: Number(n ?? 0) };
  }
  const tagsAlone = f.tags !== undefined && (f.metadata === undefined || Object.keys(f.metadata).length === 0);
  const terms = groups.flat();
  if (!tagsAlone || terms.length !== 2) return undefined;
  const [a, b] = terms.map((t) => t.slice(1)) as [string, string];
  const pairs = sql.raw(`${kind}_tag_pairs`);
  // min/max: SQLite's own order of the two (the triggers store a pair as a < b).
  const [r] = await rows<{ uncounted: number | null; pair: number | null; na: number | null; nb: number | null }>(
    db,
    sql`SELECT (SELECT n FROM tag_pairs_uncounted WHERE kind = ${kind} AND domain_id = ${o.domainId} AND status = ${status}) AS uncounted,
          (SELECT n FROM ${pairs} WHERE domain_id = ${o.domainId} AND a = min(${a}, ${b}) AND b = max(${a}, ${b}) AND status = ${status}) AS pair,
          ${count(terms[0]!)} AS na, ${count(terms[1]!)} AS nb`,
  );
  if (!r || Number(r.uncounted ?? 0) !== 0) return undefined;
  const [pair, na, nb] = [Number(r.pair ?? 0), Number(r.na ?? 0), Number(r.nb ?? 0)];
  if (f.tags!.op === "any") return { total: na + nb - pair };
  return { total: pair, driver: groups[na <= nb ? 0 : 1] };
}
