import type { MemberRole } from "../domain/member-roles.ts";
import { formatTime } from "../domain/time.ts";
import type { Role, RoleProvision } from "./types.ts";

/**
 * Wire shapes of roles (contract §5), shared by the HTTP responses and the event payloads: every
 * key always present, `updated_by` "" and the zero time when the role was never updated.
 */

export function roleJson(r: Role): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    entity_id: r.entityId,
    created_by: r.createdBy,
    created_at: formatTime(r.createdAt),
    updated_by: r.updatedBy ?? "",
    updated_at: formatTime(r.updatedAt),
  };
}

/** RoleProvision: the role plus the actions and members it was created with (null when not given). */
export function provisionJson(p: RoleProvision): Record<string, unknown> {
  return { ...roleJson(p.role), optional_actions: p.actions, optional_members: p.members };
}

/** A caller's role on an entity (`roles` of `?roles=true`, the entity members listing). */
export function memberRoleJson(r: MemberRole): Record<string, unknown> {
  return { role_id: r.roleId, role_name: r.roleName, actions: r.actions, access_type: "direct" };
}
