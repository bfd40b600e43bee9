import * as grpc from "@grpc/grpc-js";
import type { AccessService, AuthnOutcome } from "../auth/access.ts";
import type { Connection } from "../connections/repository.ts";
import type { ConnectionsService } from "../connections/service.ts";
import { AppError, Msg } from "../errors/index.ts";
import { type Call, type CallCounts, entityBasic, grpcError, type Reply, replyFailure, unary } from "../grpc/server.ts";
import type { Logger } from "../log/logger.ts";
import type { ClientsService } from "./service.ts";
import type { Client } from "./types.ts";

interface ConnectionMsg {
  client_id: string;
  channel_id: string;
  domain_id: string;
  type: number;
}

/** Connection messages of Add/RemoveConnections: type must be 1 or 2 (else INTERNAL, as a decode error). */
function toConnections(msgs: ConnectionMsg[]): Connection[] {
  return msgs.map((c) => {
    if (c.type !== 1 && c.type !== 2) throw new AppError("INTERNAL", "invalid connection type");
    return { clientId: c.client_id, channelId: c.channel_id, domainId: c.domain_id, type: c.type };
  });
}

const DENIED = grpcError(grpc.status.PERMISSION_DENIED, Msg.authnFailed);
const MALFORMED = grpcError(grpc.status.INTERNAL, "malformed credentials: not base64 after the Basic/Domain prefix");

/** clients.v1.ClientsService (contract grpc.md §4.1, §4.3). */
export function clientsGrpc(deps: { access: AccessService; clients: ClientsService; connections: ConnectionsService; logger: Logger; counts: CallCounts }) {
  const { access, clients, connections, logger, counts } = deps;
  const authn = counts.counter("clients.v1.ClientsService/Authenticate");

  const answer = (cb: Reply<unknown>, r: AuthnOutcome) => {
    if (r.ok) {
      authn[grpc.status.OK]!++;
      return cb(null, { authenticated: true, id: r.clientId });
    }
    const reply = r.reason === "malformed" ? MALFORMED : DENIED;
    authn[reply.code!]!++;
    cb(reply);
  };

  return {
    Authenticate(call: Call<{ token: string }>, cb: Reply<unknown>) {
      let r: ReturnType<AccessService["authenticate"]>;
      try {
        r = access.authenticate(call.request.token);
      } catch (err) {
        return replyFailure(logger, "Authenticate", cb, err, authn);
      }
      if (r instanceof Promise)
        r.then(
          (v) => answer(cb, v),
          (err) => replyFailure(logger, "Authenticate", cb, err, authn),
        );
      else answer(cb, r);
    },
    RetrieveEntity: unary(logger, counts, "clients.v1.ClientsService/RetrieveEntity", async (req: { id: string }) => ({
      entity: entityBasic(await clients.retrieve(req.id)),
    })),
    RetrieveEntities: unary(logger, counts, "clients.v1.ClientsService/RetrieveEntities", async (req: { ids: string[] }) => {
      const found: Client[] = await clients.retrieveEnabled(req.ids);
      return { total: found.length, limit: found.length, offset: 0, entities: found.map(entityBasic) };
    }),
    AddConnections: unary(logger, counts, "clients.v1.ClientsService/AddConnections", async (req: { connections: ConnectionMsg[] }) => {
      await connections.addConnections(toConnections(req.connections));
      return { ok: true };
    }),
    RemoveConnections: unary(logger, counts, "clients.v1.ClientsService/RemoveConnections", async (req: { connections: ConnectionMsg[] }) => {
      await connections.removeConnections(toConnections(req.connections));
      return { ok: true };
    }),
    RemoveChannelConnections: unary(logger, counts, "clients.v1.ClientsService/RemoveChannelConnections", async (req: { channel_id: string }) => {
      await connections.removeChannelConnections(req.channel_id);
      return {};
    }),
    UnsetParentGroupFromClient: unary(logger, counts, "clients.v1.ClientsService/UnsetParentGroupFromClient", async (req: { parent_group_id: string }) => {
      await clients.unsetParentGroup(req.parent_group_id);
      return {};
    }),
  };
}
