import type { ComponentChildren } from "preact";
import { api, inDomain } from "./api.ts";
import { CsvError, parseMetadata, splitTags } from "./csv.ts";
import { formatTime } from "./widgets.tsx";

/** A client or channel as the API answers it. */
export interface Entity {
  id: string;
  name?: string;
  tags?: string[];
  status: "enabled" | "disabled";
  credentials?: { identity?: string; secret?: string };
  route?: string;
  metadata?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  connection_types?: string[];
  /** Clients: GET /{d}/clients/{id}/presence, added by CLIENTS.enrich. */
  presence?: { connected: boolean; sessions: number; last_seen?: string };
}

/** A column of an entity table: its header, the list order it sorts by, and its cell. */
export interface Column {
  label: string;
  sort?: "name" | "created_at" | "updated_at";
  cell: (e: Entity) => ComponentChildren;
}

export interface Kind {
  kind: "client" | "channel";
  plural: "clients" | "channels";
  title: string;
  singular: string;
  /** The list's columns after the name (clients: presence, fed by `enrich` below). */
  columns: Column[];
  /**
   * Extra data for a page of rows before it is shown (one place for per-row look-ups such as
   * presence); the identity by default.
   */
  enrich?: (rows: Entity[]) => Promise<Entity[]>;
  /** The bulk CSV's columns, in order. */
  csvColumns: readonly string[];
  /** A create body from a CSV record or the create form (same field names). */
  createBody: (r: Record<string, string>, where: string) => Record<string, unknown>;
  /** Create-form fields beyond name, tags and metadata. */
  fields: { key: string; label: string; hint?: string }[];
}

const statusCell = (e: Entity) => <span class={`badge ${e.status}`}>{e.status}</span>;
const tagsCell = (e: Entity) => (e.tags ?? []).join(", ");
const presenceCell = (e: Entity) => {
  const p = e.presence;
  if (!p) return "";
  if (p.connected) return <span class="badge enabled">connected</span>;
  return p.last_seen ? `seen ${formatTime(p.last_seen)}` : "never seen";
};

const common = (r: Record<string, string>, where: string) => {
  const body: Record<string, unknown> = {};
  if (r.name) body.name = r.name;
  const tags = splitTags(r.tags ?? "");
  if (tags.length > 0) body.tags = tags;
  const metadata = parseMetadata(r.metadata ?? "", where);
  if (metadata) body.metadata = metadata;
  return body;
};

export const CLIENTS: Kind = {
  kind: "client",
  plural: "clients",
  title: "Clients",
  singular: "Client",
  columns: [
    { label: "Identity", cell: (e) => e.credentials?.identity ?? "" },
    { label: "Tags", cell: tagsCell },
    { label: "Status", cell: statusCell },
    { label: "Connected", cell: presenceCell },
    { label: "Created", sort: "created_at", cell: (e) => formatTime(e.created_at) },
  ],
  // One presence look-up per row of the page (at most 100); a failed one leaves the cell empty.
  enrich: (rows) =>
    Promise.all(
      rows.map((e) =>
        api<Entity["presence"]>("GET", inDomain("clients", e.id, "presence")).then(
          (presence) => ({ ...e, presence }),
          () => e,
        ),
      ),
    ),
  csvColumns: ["name", "identity", "secret", "tags", "metadata"],
  createBody(r, where) {
    const body = common(r, where);
    const credentials: Record<string, string> = {};
    if (r.identity) credentials.identity = r.identity;
    if (r.secret) credentials.secret = r.secret;
    if (Object.keys(credentials).length > 0) body.credentials = credentials;
    return body;
  },
  fields: [
    { key: "identity", label: "Identity", hint: "What the device presents as its user name (optional)." },
    { key: "secret", label: "Secret", hint: "Leave empty to have one generated." },
  ],
};

export const CHANNELS: Kind = {
  kind: "channel",
  plural: "channels",
  title: "Channels",
  singular: "Channel",
  columns: [
    { label: "Route", cell: (e) => e.route ?? "" },
    { label: "Tags", cell: tagsCell },
    { label: "Status", cell: statusCell },
    { label: "Created", sort: "created_at", cell: (e) => formatTime(e.created_at) },
  ],
  csvColumns: ["name", "route", "tags", "metadata"],
  createBody(r, where) {
    const body = common(r, where);
    if (r.route) body.route = r.route;
    return body;
  },
  fields: [{ key: "route", label: "Route", hint: "Optional, unique, cannot change: letters, digits, - and _, starting with a letter." }],
};

export const displayName = (e: Entity) => e.name || e.id;
export { CsvError };
