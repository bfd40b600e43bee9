/** Stored status: 0 enabled, 1 disabled (2, deleted, exists only mid-delete in the reference). */
export const ENABLED = 0;
export const DISABLED = 1;
export type EntityStatus = typeof ENABLED | typeof DISABLED;

export const statusName = (s: number): "enabled" | "disabled" => (s === DISABLED ? "disabled" : "enabled");
