import { statusName } from "../domain/status.ts";
import { formatTime } from "../domain/time.ts";
import type { Channel } from "./types.ts";

/** Channel event payloads, contract events.md §3 (queued with emitEvent, src/events/emit.ts). */

const optional = (c: Channel) => ({
  ...(c.name ? { name: c.name } : {}),
  ...(c.tags.length > 0 ? { tags: c.tags } : {}),
});

export function createdFields(c: Channel, rolesProvisioned: unknown[]): Record<string, unknown> {
  return {
    id: c.id,
    roles_provisioned: rolesProvisioned,
    route: c.route ?? "",
    status: statusName(c.status),
    created_at: formatTime(c.createdAt),
    ...optional(c),
    metadata: c.metadata,
  };
}

/** channel.update and channel.update_tags share this key set. */
export function updatedFields(c: Channel): Record<string, unknown> {
  return {
    updated_at: formatTime(c.updatedAt),
    updated_by: c.updatedBy ?? "",
    id: c.id,
    status: statusName(c.status),
    ...(c.route ? { route: c.route } : {}),
    ...optional(c),
    metadata: c.metadata,
    created_at: formatTime(c.createdAt),
  };
}
