import { randomUUID } from "node:crypto";

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** "Valid UUID" in the contract: parses as a UUID and is already in lowercase canonical form. */
export const isCanonicalUuid = (s: string): boolean => CANONICAL_UUID.test(s);

export const newId = (): string => randomUUID();
