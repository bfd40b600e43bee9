import type { ConnectionType } from "./connection-types.ts";
import type { MemberRole } from "./member-roles.ts";
import type { Micros } from "./time.ts";

export type JsonObject = Record<string, unknown>;

export type StatusFilter = "enabled" | "disabled" | "deleted" | "all";
export type ListOrder = "name" | "created_at" | "updated_at";

/** The list filters of contract §2 as the repository applies them. */
export interface ListFilter {
  limit: number;
  offset: number;
  order: ListOrder;
  dir: "asc" | "desc";
  status: StatusFilter;
  name?: string;
  tags?: { op: "any" | "all"; values: string[] };
  metadata?: JsonObject;
  id?: string;
  onlyTotal: boolean;
  createdFrom?: Micros;
  createdTo?: Micros;
  /** undefined: no filter; null: only entities without a parent; string: that parent. */
  group?: string | null;
  /** Only entities connected to this channel (listing clients) or client (listing channels). */
  connectedTo?: { id: string; type?: ConnectionType };
  /** Only entities on which this user holds a role (`user=`, super-admin only). */
  member?: string;
  /** Clients only (`connected=`): with or without a live broker session, as presence last wrote it. */
  connected?: boolean;
}

/** One page of a list, with what the list's filters asked to add to each item. */
export interface Page<T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
  /** Listing connected entities only: each item's connection types ("Publish", "Subscribe"). */
  connectionTypes?: Map<string, string[]>;
  /** Listing with `user=`: that user's roles on each item. */
  memberRoles?: Map<string, MemberRole[]>;
}
