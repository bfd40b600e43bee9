import type { Micros } from "./time.ts";

/** Connection types: 1 publish, 2 subscribe. */
export const PUBLISH = 1;
export const SUBSCRIBE = 2;
export type ConnectionType = typeof PUBLISH | typeof SUBSCRIBE;
export const connectionTypeName = (t: number): "Publish" | "Subscribe" => (t === PUBLISH ? "Publish" : "Subscribe");

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
}
