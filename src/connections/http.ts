import { Elysia, t } from "elysia";
import { type ConnectionType, PUBLISH, SUBSCRIBE } from "../domain/connection-types.ts";
import { isCanonicalUuid } from "../domain/ids.ts";
import { AppError, invalid, Msg } from "../errors/index.ts";
import { docs, empty } from "../http/openapi.ts";
import { ELYSIA_OPTIONS, jsonBody, Obj, StringList } from "../http/schema.ts";
import { replyEmpty, requestContext } from "../http/server.ts";
import type { ConnectionRequest, ConnectionsService } from "./service.ts";

const Types = StringList('"publish" and/or "subscribe" (any case).');
const CLIENT_ID = "5d1b8f4e-3c2a-4b7e-9f10-2a6c8e4d7b31";
const SetBody = Obj(
  {
    channel_ids: t.Optional(StringList("Channel ids.")),
    client_ids: t.Optional(StringList("Client ids.")),
    types: t.Optional(Types),
  },
  { examples: [{ channel_ids: ["9b7e4c1a-6d2f-4e8b-a3c5-1f0d2e7a9c46"], client_ids: [CLIENT_ID], types: ["publish", "subscribe"] }] },
);
const ChannelBody = Obj(
  { client_ids: t.Optional(StringList("Client ids (UUIDs).")), types: t.Optional(Types) },
  { examples: [{ client_ids: [CLIENT_ID, "c2a9e7d1-4b3f-4a8e-9d6c-7f1e0b2a5c94"], types: ["publish"] }] },
);
const domainParams = t.Object({ domainID: t.String() });
const params = t.Object({ domainID: t.String(), channelID: t.String() });
const doc = docs("connections");

/** Connection types decode with the body: anything but publish/subscribe is a malformed body. */
function decodeTypes(types: string[] | null | undefined): ConnectionType[] {
  return (types ?? []).map((s) => {
    const v = s.toLowerCase();
    if (v === "publish") return PUBLISH;
    if (v === "subscribe") return SUBSCRIBE;
    throw new AppError("MALFORMED", Msg.malformedBody);
  });
}

const blank = (s: string) => s.trim() === "";

/** Contract §4.1 validation, in the reference's order. */
function validate(req: ConnectionRequest, clientIds: "nonblank" | "uuid"): void {
  if (req.channelIds.length === 0) throw invalid(Msg.missingEntityId);
  if (req.channelIds.some(blank)) throw invalid(Msg.missingChannelId);
  if (req.clientIds.length === 0) throw invalid(Msg.missingEntityId);
  if (clientIds === "uuid" ? req.clientIds.some((id) => !isCanonicalUuid(id)) : req.clientIds.some(blank))
    throw invalid(clientIds === "uuid" ? Msg.invalidId : Msg.missingChannelId); // sic: the reference says "channel" here
  if (req.types.length === 0) throw invalid(Msg.missingConnectionType);
}

/**
 * Connect and disconnect (contract §4.1). Channel ids are any non-blank string everywhere, so a
 * channel with a custom id can be disconnected too (DESIGN decision 5).
 */
export function connectionsRoutes(svc: ConnectionsService) {
  return new Elysia({ ...ELYSIA_OPTIONS, name: "connections-routes" })
    .post(
      "/:domainID/channels/connect",
      async ({ request, set, body }) => {
        const req = { types: decodeTypes(body.types), channelIds: body.channel_ids ?? [], clientIds: body.client_ids ?? [] };
        validate(req, "nonblank");
        await svc.connect(requestContext(request), req);
        return replyEmpty(set, 201);
      },
      {
        ...jsonBody,
        params: domainParams,
        body: SetBody,
        ...doc({
          id: "connectClientsToChannels",
          summary: "Connect clients to channels",
          description: "Every channel × client × type, all or nothing: 400 `entity already exists` if any tuple exists, 422 for a disabled or foreign entity.",
          ok: empty(201, "Connected; empty body."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.entityExists },
        }),
      },
    )
    .post(
      "/:domainID/channels/disconnect",
      async ({ request, set, body }) => {
        const req = { types: decodeTypes(body.types), channelIds: body.channel_ids ?? [], clientIds: body.client_ids ?? [] };
        validate(req, "uuid");
        await svc.disconnect(requestContext(request), req);
        return replyEmpty(set, 204);
      },
      {
        ...jsonBody,
        params: domainParams,
        body: SetBody,
        ...doc({
          id: "disconnectClientsFromChannels",
          summary: "Disconnect clients from channels",
          description: "Removes the listed tuples; absent ones are fine.",
          ok: empty(204, "Disconnected."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.missingConnectionType, 422: Msg.removeFailed },
        }),
      },
    )
    .post(
      "/:domainID/channels/:channelID/connect",
      async ({ request, params, set, body }) => {
        const req = { types: decodeTypes(body.types), channelIds: [params.channelID], clientIds: body.client_ids ?? [] };
        validate(req, "uuid");
        await svc.connect(requestContext(request), req);
        return replyEmpty(set, 201);
      },
      {
        ...jsonBody,
        params,
        body: ChannelBody,
        ...doc({
          id: "connectClientsToChannel",
          summary: "Connect clients to this channel",
          ok: empty(201, "Connected; empty body."),
          fails: [400, 404, 415, 422],
          messages: { 400: Msg.entityExists },
        }),
      },
    )
    .post(
      "/:domainID/channels/:channelID/disconnect",
      async ({ request, params, set, body }) => {
        const req = { types: decodeTypes(body.types), channelIds: [params.channelID], clientIds: body.client_ids ?? [] };
        validate(req, "uuid");
        await svc.disconnect(requestContext(request), req);
        return replyEmpty(set, 204);
      },
      {
        ...jsonBody,
        params,
        body: ChannelBody,
        ...doc({
          id: "disconnectClientsFromChannel",
          summary: "Disconnect clients from this channel",
          ok: empty(204, "Disconnected."),
          fails: [400, 404, 415, 422],
          messages: { 422: Msg.removeFailed },
        }),
      },
    );
}
