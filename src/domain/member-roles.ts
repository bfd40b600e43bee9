/**
 * One of a user's roles on a client or channel, as the entity views (`?roles=true`) and `user=`
 * lists show it. Roles here are always direct (no group or domain roles on the gateway).
 */
export interface MemberRole {
  roleId: string;
  roleName: string;
  actions: string[];
}

/** An entity with the caller's roles on it (`GET …/{id}?roles=true`). */
export interface WithRoles<T> {
  entity: T;
  roles: MemberRole[];
}
