import type { MaybePromise } from "../lib/maybe-promise.ts";
import type { RequestContext } from "./context.ts";
import type { ListFilter, Page } from "./list.ts";
import type { MemberRole, WithRoles } from "./member-roles.ts";
import type { EntityStatus } from "./status.ts";
import type { Micros } from "./time.ts";
import type { TxHandle } from "./transaction.ts";

/**
 * The entity core shared by clients and channels: their common row, the store port a repository
 * implements for them, the hooks other capabilities attach (src/domain/rules.ts says which), and
 * the operations both services offer (written once in src/domain/lifecycle.ts).
 */

/** What clients and channels have in common for the operations below. */
export interface EntityRow {
  id: string;
  domainId: string;
  status: number;
  parentGroupId: string | null;
  updatedAt: Micros | null;
  updatedBy: string | null;
}

export interface Stamp {
  updatedAt: Micros;
  updatedBy: string;
}

/** The part of a repository these operations need (src/db/queries/entity-store.ts EntityStore). */
export interface LifecycleStore<Row, Changes> {
  find(domainId: string, id: string, tx?: TxHandle): MaybePromise<Row | undefined>;
  findAny(id: string): Promise<Row | undefined>;
  clearParent(tx: TxHandle, parentGroupId: string): Promise<Row[]>;
  list(domainId: string, filter: ListFilter): Promise<{ total: number; items: Row[] }>;
  update(tx: TxHandle, domainId: string, id: string, changes: Changes, where?: { status?: number }): Promise<Row | undefined>;
  remove(tx: TxHandle, domainId: string, id: string): Promise<boolean>;
}

/** What other capabilities attach to client or channel changes (src/domain/rules.ts). */
export interface EntityHooks<Row> {
  /**
   * After the rows are inserted, in the same transaction (built-in roles); returns, for each row in
   * order, the roles provisioned for it (its create event's `roles_provisioned`).
   */
  created?(tx: TxHandle, ctx: RequestContext, rows: Row[]): Promise<unknown[][]>;
  /** Inside the deleting transaction, before the row goes (connections and roles cascade). */
  removing?(tx: TxHandle, ctx: RequestContext, row: Row): Promise<void>;
  /**
   * Inside the transaction of anything that can change an authentication or authorization answer
   * about this entity (status change, secret change, delete): the cache invalidates at commit.
   */
  accessChanged?(tx: TxHandle, id: string): void;
  /**
   * Inside the transaction of a change that ends the entity's right to live sessions (disable,
   * delete, secret change): the clients concerned are kicked from the broker after commit.
   */
  revoked?(tx: TxHandle, row: { id: string; domainId: string }, reason: string): Promise<void>;
  /** Listing entities connected to another: each item's connection types. */
  connectionTypes?(domainId: string, otherId: string, ids: string[]): Promise<Map<string, string[]>>;
  /** A user's roles on each of these entities (`?roles=true`, `user=` lists). */
  memberRoles?(ids: string[], memberId: string): Promise<Map<string, MemberRole[]>>;
}

/** The operations clients and channels share (their services add their own). */
export interface EntityService<Row, Update> {
  /** Synchronous on SQLite (the HTTP GET answers without a promise), a promise on Postgres. */
  view(ctx: RequestContext, id: string): MaybePromise<Row>;
  /** `GET …?roles=true`: the entity with the caller's roles on it (none: 404). */
  viewWithRoles(ctx: RequestContext, id: string): Promise<WithRoles<Row>>;
  list(ctx: RequestContext, filter: ListFilter): Promise<Page<Row>>;
  update(ctx: RequestContext, id: string, update: Update): Promise<Row>;
  updateTags(ctx: RequestContext, id: string, tags: string[]): Promise<Row>;
  setStatus(ctx: RequestContext, id: string, status: EntityStatus): Promise<Row>;
  setParent(ctx: RequestContext, id: string, parentGroupId: string): Promise<void>;
  removeParent(ctx: RequestContext, id: string): Promise<void>;
  remove(ctx: RequestContext, id: string): Promise<void>;
  /** gRPC: any domain and status; unknown → `entity not found`. */
  retrieve(id: string): Promise<Row>;
  /** gRPC UnsetParentGroupFrom*: clears the parent group on every entity having it; returns how many. */
  unsetParentGroup(parentGroupId: string): Promise<number>;
}
