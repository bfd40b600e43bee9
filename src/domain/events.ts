import type { RequestContext } from "./context.ts";
import type { TxHandle } from "./transaction.ts";

/** Session keys of every client/channel entity event (contract events.md §1.2). */
const sessionKeys = (ctx: RequestContext) => ({
  domain: ctx.domainId,
  user_id: ctx.userId,
  token_type: ctx.tokenType,
  super_admin: false,
  request_id: ctx.requestId,
});

/**
 * Queues an entity event in the transaction: stream `magistrala.` + operation, payload
 * `{operation, …fields, …session keys}`. The publisher maps the stream to the MQTT topic.
 */
export function emitEvent(tx: TxHandle, ctx: RequestContext, operation: string, entityId: string, fields: Record<string, unknown>): void {
  tx.emit({ stream: `magistrala.${operation}`, entityId, payload: { operation, ...fields, ...sessionKeys(ctx) } });
}
