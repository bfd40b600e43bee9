import type { Micros } from "../domain/time.ts";

/** The two kinds of entity that carry roles. */
export type EntityKind = "client" | "channel";

/** Contract §5.3: the actions a role may hold, per entity kind, in the contract's order. */
export const AVAILABLE_ACTIONS: Readonly<Record<EntityKind, readonly string[]>> = {
  client: ["update", "read", "delete", "set_parent_group", "connect_to_channel", "manage_role", "add_role_users", "remove_role_users", "view_role_users"],
  channel: [
    "update",
    "read",
    "delete",
    "set_parent_group",
    "connect_to_client",
    "publish",
    "subscribe",
    "manage_role",
    "add_role_users",
    "remove_role_users",
    "view_role_users",
  ],
};

/** The role every created client and channel gets, holding every action, its creator as member. */
export const BUILT_IN_ROLE = "admin";

/** Role names longer than this are 400 `invalid name size`. */
export const MAX_ROLE_NAME = 200;

export interface Role {
  id: string;
  entityId: string;
  name: string;
  createdBy: string;
  createdAt: Micros;
  updatedBy: string | null;
  updatedAt: Micros | null;
}

/** A role as created, with the actions and members it was created with (null: none were given). */
export interface RoleProvision {
  role: Role;
  actions: string[] | null;
  members: string[] | null;
}

export type { MemberRole } from "../domain/member-roles.ts";

import type { MemberRole } from "../domain/member-roles.ts";

export interface EntityMember {
  memberId: string;
  roles: MemberRole[];
}

export interface PageRequest {
  limit: number;
  offset: number;
}

export interface Paged<T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
}

/** Filters of `GET …/roles/members` (all exact matches; `actions`: the role holds every one). */
export interface EntityMembersFilter extends PageRequest {
  roleId?: string;
  roleName?: string;
  actions?: string[];
  /** Only "direct" exists here (no group or domain roles): any other access type matches nothing. */
  accessType?: string;
  /** Direct roles have no access provider: a non-empty value matches nothing. */
  accessProviderId?: string;
}

/** Orders actions as the contract lists them (unknown ones last, in name order). */
export function sortActions(kind: EntityKind, actions: Iterable<string>): string[] {
  const order = AVAILABLE_ACTIONS[kind];
  const rank = (a: string) => {
    const i = order.indexOf(a);
    return i < 0 ? order.length : i;
  };
  return [...actions].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
