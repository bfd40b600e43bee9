import { formatTime } from "../domain/time.ts";
import { type Client, statusName } from "./types.ts";

/**
 * Client event payloads, contract events.md §2. Every payload carries the session keys (§1.2);
 * no payload ever carries a secret or its hash. `metadata` and `private_metadata` are always
 * objects here, so like the reference's non-nil maps they are always present (`{}` when empty).
 * They are queued with `emitEvent` (src/events/emit.ts).
 */

const optional = (c: Client) => ({
  ...(c.name ? { name: c.name } : {}),
  ...(c.tags.length > 0 ? { tags: c.tags } : {}),
  ...(c.identity ? { identity: c.identity } : {}),
});

export function createdFields(c: Client, rolesProvisioned: unknown[]): Record<string, unknown> {
  return {
    id: c.id,
    status: statusName(c.status),
    created_at: formatTime(c.createdAt),
    roles_provisioned: rolesProvisioned,
    ...optional(c),
    metadata: c.metadata,
    private_metadata: c.privateMetadata,
  };
}

/** client.update, client.update_tags and client.update_secret share this key set. */
export function updatedFields(c: Client): Record<string, unknown> {
  return {
    updated_at: formatTime(c.updatedAt),
    updated_by: c.updatedBy ?? "",
    id: c.id,
    status: statusName(c.status),
    ...optional(c),
    metadata: c.metadata,
    private_metadata: c.privateMetadata,
    ...(c.createdAt ? { created_at: formatTime(c.createdAt) } : {}),
  };
}
