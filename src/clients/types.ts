import type { JsonObject } from "../shared/list.ts";
import type { Micros } from "../shared/time.ts";

export type { JsonObject, ListFilter } from "../shared/list.ts";

export { DISABLED, ENABLED, type EntityStatus, statusName } from "../shared/status.ts";

import type { EntityStatus } from "../shared/status.ts";

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
