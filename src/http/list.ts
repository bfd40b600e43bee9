import { t } from "elysia";
import { type ConnectionType, PUBLISH, SUBSCRIBE } from "../domain/connection-types.ts";
import type { JsonObject, ListFilter, ListOrder, StatusFilter } from "../domain/list.ts";
import { storable } from "../domain/text.ts";
import { parseTime } from "../domain/time.ts";
import { invalid, Msg } from "../errors/index.ts";
import { nestingWithin } from "./body.ts";
import type { QueryReader } from "./query.ts";

export const MAX_NAME = 1024;
const ORDERS: readonly string[] = ["name", "created_at", "updated_at"];
const STATUSES: readonly string[] = ["enabled", "disabled", "deleted", "all"];

/**
 * Bounds of a `metadata` filter: SQLite matches it with one nested SQL expression per value, and
 * refuses an expression tree deeper than 1000 (which 25 levels or 500 values reach); Postgres would
 * take more, but both answer alike.
 */
const MAX_FILTER_DEPTH = 8;
const MAX_FILTER_VALUES = 64;

/** How many values (containers and scalars) a JSON value holds, counting no further than `max` + 1. */
function nodesOf(v: unknown, max: number): number {
  let n = 0;
  const visit = (x: unknown) => {
    if (++n > max || typeof x !== "object" || x === null) return;
    for (const y of Array.isArray(x) ? x : Object.values(x)) {
      visit(y);
      if (n > max) return;
    }
  };
  visit(v);
  return n;
}

const isPlainObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** Contract §2 list parameters shared by clients and channels, in the reference's decode-then-validate order. */
export function readListFilter(q: QueryReader, opts: { emptyStatus: "enabled" | "invalid"; connectedParam: "channel" | "client" }): ListFilter {
  // Decoding: malformed values are `invalid query parameters` (or `invalid status`).
  const name = q.str("name");
  const tagsText = q.str("tags");
  const statusText = q.str("status");
  let status: StatusFilter = "enabled";
  if (statusText !== undefined) {
    if (statusText === "" && opts.emptyStatus === "enabled") status = "enabled";
    else if (STATUSES.includes(statusText)) status = statusText as StatusFilter;
    else throw invalid(Msg.invalidStatus);
  }
  const metadataText = q.str("metadata");
  let metadata: JsonObject | undefined;
  if (metadataText !== undefined && metadataText !== "") {
    if (!nestingWithin(metadataText, MAX_FILTER_DEPTH)) throw invalid(Msg.queryParams);
    try {
      metadata = JSON.parse(metadataText) as JsonObject;
    } catch {
      throw invalid(Msg.queryParams);
    }
    if (!isPlainObject(metadata) || !storable(metadata) || nodesOf(metadata, MAX_FILTER_VALUES) > MAX_FILTER_VALUES) throw invalid(Msg.queryParams);
  }
  const offset = q.uint("offset", 0);
  const limit = q.uint("limit", 10);
  const order = q.str("order") || "updated_at";
  const dir = q.str("dir") || "desc";
  const id = q.str("id");
  const onlyTotal = q.bool("only_total", false);
  const createdFrom = readTime(q, "created_from");
  const createdTo = readTime(q, "created_to");
  const groupText = q.str("group");
  const connectedId = q.str(opts.connectedParam);
  const connectionType = readConnectionType(q.str("connection_type"));
  const user = q.str("user");
  // Filters on the caller's own access row: a super-admin lists everything, so they only need decoding.
  for (const key of ["role_id", "role_name", "actions", "access_type"]) q.str(key);

  // Validation.
  if (limit < 1 || limit > 100) throw invalid(Msg.limitSize);
  if (!ORDERS.includes(order)) throw invalid(Msg.order);
  if (dir !== "asc" && dir !== "desc") throw invalid(Msg.dir);
  if (name !== undefined && name.length > MAX_NAME) throw invalid(Msg.nameSize);

  let tags: ListFilter["tags"];
  if (tagsText) {
    const op = tagsText.includes("+") ? "all" : "any";
    const values = tagsText.split(op === "all" ? "+" : ",").filter((s) => s !== "");
    if (values.length > 0) tags = { op, values };
  }
  return {
    limit,
    offset,
    order: order as ListOrder,
    dir,
    status,
    name: name || undefined,
    tags,
    metadata,
    id: id || undefined,
    onlyTotal,
    createdFrom,
    createdTo,
    group: groupText === undefined ? undefined : groupText === "" ? null : groupText,
    connectedTo: connectedId ? { id: connectedId, type: connectionType } : undefined,
    member: user || undefined,
  };
}

/** `connection_type`: publish or subscribe, any case; anything else is the reference's generic 400. */
function readConnectionType(v: string | undefined): ConnectionType | undefined {
  if (v === undefined || v === "") return undefined;
  const t = v.toLowerCase();
  if (t === "publish") return PUBLISH;
  if (t === "subscribe") return SUBSCRIBE;
  throw invalid(Msg.badRequest);
}

function readTime(q: QueryReader, key: string): number | undefined {
  const v = q.str(key);
  if (v === undefined || v === "") return undefined;
  const us = parseTime(v);
  if (us === undefined) throw invalid(Msg.queryParams);
  return us;
}

/** The page envelope: limit/offset omitted when 0, items key omitted when there are none. */
export function pageJson<T>(key: string, page: { total: number; limit: number; offset: number; items: T[] }, item: (x: T) => JsonObject) {
  const body: Record<string, unknown> = {};
  if (page.limit) body.limit = page.limit;
  if (page.offset) body.offset = page.offset;
  body.total = page.total;
  if (page.items.length > 0) body[key] = page.items.map(item);
  return body;
}

const q = (description: string) => t.Optional(t.String({ description }));

/** The documented list parameters (validated by readListFilter, which gives the contract's messages). */
export const listQuerySchema = {
  limit: q("Page size, 1..100 (default 10)."),
  offset: q("Items to skip (default 0)."),
  order: q("name, created_at or updated_at (default; falls back to created_at)."),
  dir: q("asc or desc (default)."),
  status: q("enabled (default), disabled, deleted or all."),
  name: q("Case-insensitive substring of the name (≤1024 chars)."),
  tags: q("a,b: has any of the tags; a+b (send %2B): has all of them."),
  metadata: q("URL-encoded JSON object; entities whose metadata contains it."),
  id: q("Exact id."),
  only_total: q("true: return only the total."),
  created_from: q("RFC 3339, inclusive lower bound of created_at."),
  created_to: q("RFC 3339, inclusive upper bound of created_at."),
  group: q("Parent group id; present but empty: entities without a parent."),
  role_id: q("Accepted; filters a non-admin caller's access rows (the standalone admin sees everything)."),
  role_name: q("As role_id."),
  actions: q("As role_id."),
  access_type: q("As role_id."),
  connection_type: q("With channel= (clients) or client= (channels): publish or subscribe."),
  user: q("A user id: only entities on which that user holds a role, each with that role (role_id, role_name, actions, access_type). Super-admin only."),
};
