import { AppError, Msg, notFound, unprocessable } from "../errors/index.ts";
import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import { type RequestContext, systemContext } from "./context.ts";
import type { EntityHooks, EntityRow, LifecycleStore, Stamp } from "./entity.ts";
import { emitEvent } from "./events.ts";
import type { ListFilter, Page } from "./list.ts";
import type { WithRoles } from "./member-roles.ts";
import { DISABLED, ENABLED, type EntityStatus, statusName } from "./status.ts";
import { formatTime, type Micros } from "./time.ts";
import type { Transactor, TxHandle } from "./transaction.ts";

export interface LifecycleOptions<Row extends EntityRow, Changes> {
  kind: "client" | "channel";
  db: Transactor;
  store: LifecycleStore<Row, Changes>;
  now: () => Micros;
  /** Set-parent conflicts: the contract words them differently for clients and channels. */
  sameParentMessage: string;
  otherParentMessage: string;
  hooks: EntityHooks<Row>;
}

/**
 * The status and parent-group operations of contract §3/§4, written once for clients and
 * channels: look up (404), check (422/400), update with updated_at/updated_by, emit the event.
 */
export function entityLifecycle<Row extends EntityRow, Changes>(opts: LifecycleOptions<Row, Changes>) {
  const { kind, db, store } = opts;
  const stamp = (ctx: RequestContext): Stamp => ({ updatedAt: opts.now(), updatedBy: ctx.userId });
  const withStamp = (ctx: RequestContext, changes: object) => ({ ...changes, ...stamp(ctx) }) as Changes;

  async function existing(tx: TxHandle, ctx: RequestContext, id: string): Promise<Row> {
    const row = await store.find(ctx.domainId, id, tx);
    if (!row) throw notFound();
    return row;
  }

  return {
    stamp,

    /**
     * Inserts new rows (all or none) with whatever the `created` hook provisions, and one
     * `<kind>.create` event per row, in one transaction.
     */
    async insertNew(
      ctx: RequestContext,
      rows: Row[],
      insert: (tx: TxHandle, rows: Row[]) => Promise<void>,
      fields: (row: Row, roles: unknown[]) => Record<string, unknown>,
    ) {
      await db.transact(async (tx) => {
        await insert(tx, rows);
        const roles = (await opts.hooks.created?.(tx, ctx, rows)) ?? [];
        rows.forEach((r, i) => {
          emitEvent(tx, ctx, `${kind}.create`, r.id, fields(r, roles[i] ?? []));
        });
      });
    },

    view(ctx: RequestContext, id: string): MaybePromise<Row> {
      return then(store.find(ctx.domainId, id), (row) => {
        if (!row) throw notFound();
        return row;
      });
    },

    /** The entity with the caller's roles on it; a caller holding none gets 404 (contract §3). */
    async viewWithRoles(ctx: RequestContext, id: string): Promise<WithRoles<Row>> {
      const row = await store.find(ctx.domainId, id);
      if (!row) throw notFound();
      const roles = (await opts.hooks.memberRoles?.([id], ctx.userId))?.get(id) ?? [];
      if (roles.length === 0) throw notFound();
      return { entity: row, roles };
    },

    async list(ctx: RequestContext, filter: ListFilter): Promise<Page<Row>> {
      if (filter.member !== undefined && !ctx.superAdmin) throw new AppError("FORBIDDEN", Msg.adminOnly);
      const { total, items } = await store.list(ctx.domainId, filter);
      const page: Page<Row> = { total, limit: filter.limit, offset: filter.offset, items };
      if (filter.connectedTo && opts.hooks.connectionTypes)
        page.connectionTypes = await opts.hooks.connectionTypes(
          ctx.domainId,
          filter.connectedTo.id,
          items.map((r) => r.id),
        );
      if (filter.member !== undefined && opts.hooks.memberRoles)
        page.memberRoles = await opts.hooks.memberRoles(
          items.map((r) => r.id),
          filter.member,
        );
      return page;
    },

    /** gRPC RetrieveEntity: any domain, any status; unknown → `entity not found`. */
    async retrieve(id: string): Promise<Row> {
      const row = await store.findAny(id);
      if (!row) throw notFound();
      return row;
    },

    /** gRPC UnsetParentGroupFrom*: a group was deleted elsewhere; its children lose their parent. */
    async unsetParentGroup(parentGroupId: string): Promise<number> {
      return db.transact(async (tx) => {
        const rows = await store.clearParent(tx, parentGroupId);
        for (const r of rows) emitEvent(tx, systemContext(r.domainId), `${kind}.remove_parent`, r.id, { id: r.id });
        return rows.length;
      });
    },

    async remove(ctx: RequestContext, id: string): Promise<void> {
      await db.transact(async (tx) => {
        const current = await existing(tx, ctx, id);
        await opts.hooks.removing?.(tx, ctx, current);
        await store.remove(tx, ctx.domainId, id);
        emitEvent(tx, ctx, `${kind}.remove`, id, { id });
        opts.hooks.accessChanged?.(tx, id);
        await opts.hooks.revoked?.(tx, current, `${kind}.remove`);
      });
    },

    /** Updates an enabled entity (a disabled one is 404, as in the reference) and emits `operation`. */
    updateEnabled(
      ctx: RequestContext,
      id: string,
      changes: object,
      operation: string,
      fields: (row: Row) => Record<string, unknown>,
      onCommit?: (tx: TxHandle, row: Row) => Promise<void>,
    ) {
      return db.transact(async (tx) => {
        const updated = await store.update(tx, ctx.domainId, id, withStamp(ctx, changes), { status: ENABLED });
        if (!updated) throw notFound();
        emitEvent(tx, ctx, operation, id, fields(updated));
        await onCommit?.(tx, updated);
        return updated;
      });
    },

    setStatus(ctx: RequestContext, id: string, status: EntityStatus): Promise<Row> {
      return db.transact(async (tx) => {
        const current = await existing(tx, ctx, id);
        if (current.status === status) throw unprocessable(Msg.statusAssigned);
        const updated = await store.update(tx, ctx.domainId, id, withStamp(ctx, { status }));
        if (!updated) throw notFound();
        emitEvent(tx, ctx, `${kind}.${status === DISABLED ? "disable" : "enable"}`, id, {
          id,
          status: statusName(updated.status),
          updated_at: formatTime(updated.updatedAt),
          updated_by: updated.updatedBy ?? "",
        });
        opts.hooks.accessChanged?.(tx, id);
        if (status === DISABLED) await opts.hooks.revoked?.(tx, updated, `${kind}.disable`);
        return updated;
      });
    },

    async setParent(ctx: RequestContext, id: string, parentGroupId: string): Promise<void> {
      await db.transact(async (tx) => {
        const current = await existing(tx, ctx, id);
        if (current.parentGroupId === parentGroupId) throw new AppError("CONFLICT", opts.sameParentMessage);
        if (current.parentGroupId) throw new AppError("CONFLICT", opts.otherParentMessage);
        await store.update(tx, ctx.domainId, id, withStamp(ctx, { parentGroupId }));
        emitEvent(tx, ctx, `${kind}.set_parent`, id, { id, parent_group_id: parentGroupId });
      });
    },

    async removeParent(ctx: RequestContext, id: string): Promise<void> {
      await db.transact(async (tx) => {
        const current = await existing(tx, ctx, id);
        if (!current.parentGroupId) return; // nothing to remove: no change, no event
        await store.update(tx, ctx.domainId, id, withStamp(ctx, { parentGroupId: null }));
        emitEvent(tx, ctx, `${kind}.remove_parent`, id, { id });
      });
    },
  };
}
