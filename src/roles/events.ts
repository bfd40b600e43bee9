import type { RequestContext } from "../domain/context.ts";
import type { TxHandle } from "../domain/transaction.ts";
import type { EntityKind } from "./types.ts";

/**
 * Role events (contract events.md §4): one stream per entity kind, `magistrala.client.roles` /
 * `magistrala.channel.roles`; `operation` = `<kind>.` + suffix. Unlike entity events they carry no
 * session keys, only `request_id` (and `occurred_at`, added by the outbox). Reads emit nothing
 * (DESIGN decision 6).
 */
export type RoleEventSuffix =
  | "role.add"
  | "role.remove"
  | "role.update"
  | "role.actions.add"
  | "role.actions.remove"
  | "role.actions.remove_all"
  | "role.members.add"
  | "role.members.remove"
  | "role.members.remove_all"
  | "members.remove";

const roleStream = (kind: EntityKind) => `magistrala.${kind}.roles`;

export function emitRoleEvent(
  tx: TxHandle,
  ctx: RequestContext,
  kind: EntityKind,
  entityId: string,
  suffix: RoleEventSuffix,
  fields: Record<string, unknown>,
): void {
  tx.emit({ stream: roleStream(kind), entityId, payload: { operation: `${kind}.${suffix}`, ...fields, request_id: ctx.requestId } });
}
