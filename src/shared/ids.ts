import { randomUUID } from "node:crypto";
import type { MemberRole } from "./access.ts";

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** "Valid UUID" in the contract: parses as a UUID and is already in lowercase canonical form. */
export const isCanonicalUuid = (s: string): boolean => CANONICAL_UUID.test(s);

export const newId = (): string => randomUUID();

export interface Page<T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
  /** Listing connected entities only: each item's connection types ("Publish", "Subscribe"). */
  connectionTypes?: Map<string, string[]>;
  /** Listing with `user=`: that user's roles on each item. */
  memberRoles?: Map<string, MemberRole[]>;
}
