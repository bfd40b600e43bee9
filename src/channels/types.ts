import type { JsonObject } from "../domain/list.ts";
import type { EntityStatus } from "../domain/status.ts";
import type { Micros } from "../domain/time.ts";

export interface Channel {
  id: string;
  domainId: string;
  name: string;
  tags: string[];
  metadata: JsonObject;
  route: string | null;
  parentGroupId: string | null;
  status: EntityStatus;
  createdAt: Micros;
  updatedAt: Micros | null;
  updatedBy: string | null;
}

export interface NewChannel {
  id?: string;
  name?: string;
  tags?: string[];
  metadata?: JsonObject;
  route?: string;
  status?: EntityStatus;
  parentGroupId?: string;
}

export interface ChannelUpdate {
  name?: string;
  metadata?: JsonObject;
}

export interface ChannelChanges {
  name?: string;
  tags?: string[];
  metadata?: JsonObject;
  status?: EntityStatus;
  parentGroupId?: string | null;
  updatedAt?: Micros;
  updatedBy?: string;
}
