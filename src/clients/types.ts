import type { JsonObject } from "../domain/list.ts";
import type { Micros } from "../domain/time.ts";

export type { JsonObject } from "../domain/list.ts";

export { ENABLED, type EntityStatus, statusName } from "../domain/status.ts";

import type { EntityStatus } from "../domain/status.ts";

export interface Client {
  id: string;
  domainId: string;
  name: string;
  tags: string[];
  identity: string;
  secretHash: string;
  metadata: JsonObject;
  privateMetadata: JsonObject;
  parentGroupId: string | null;
  status: EntityStatus;
  createdAt: Micros;
  updatedAt: Micros | null;
  updatedBy: string | null;
}

/** A created client together with the secret it was created with (shown once, never stored). */
export interface CreatedClient {
  client: Client;
  secret: string;
}

export interface NewClient {
  id?: string;
  name?: string;
  tags?: string[];
  identity?: string;
  secret?: string;
  metadata?: JsonObject;
  privateMetadata?: JsonObject;
  status?: EntityStatus;
  parentGroupId?: string;
}

export interface ClientUpdate {
  name?: string;
  metadata?: JsonObject;
  privateMetadata?: JsonObject;
}
