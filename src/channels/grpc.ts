import * as grpc from "@grpc/grpc-js";
import type { AccessService, AuthzOutcome } from "../auth/access.ts";
import type { ConnectionsService } from "../connections/service.ts";
import { Msg } from "../errors/index.ts";
import { type Call, type CallCounts, entityBasic, grpcError, type Reply, replyFailure, unary } from "../grpc/server.ts";
import type { Logger } from "../log/logger.ts";
import type { ChannelsService } from "./service.ts";

interface AuthzReq {
  domain_id: string;
  client_id: string;
  client_type: string;
  channel_id: string;
  type: number;
}

const ALLOWED = Object.freeze({ authorized: true });
/** Denial is always an error status, never authorized=false (contract §4.2). */
const REPLIES: Record<Exclude<AuthzOutcome, "allowed">, ReturnType<typeof grpcError>> = {
  denied: grpcError(grpc.status.PERMISSION_DENIED, Msg.authzFailed),
  invalid_type: grpcError(grpc.status.INTERNAL, "invalid connection type"),
  missing_domain: grpcError(grpc.status.INTERNAL, "missing domain id"),
  unknown_client_type: grpcError(grpc.status.UNAUTHENTICATED, "invalid client type"),
};

/** channels.v1.ChannelsService (contract grpc.md §4.2, §4.4). */
export function channelsGrpc(deps: { access: AccessService; channels: ChannelsService; connections: ConnectionsService; logger: Logger; counts: CallCounts }) {
  const { access, channels, connections, logger, counts } = deps;
  const authz = counts.counter("channels.v1.ChannelsService/Authorize");

  const answer = (cb: Reply<unknown>, r: AuthzOutcome) => {
    if (r === "allowed") {
      authz[grpc.status.OK]!++;
      return cb(null, ALLOWED);
    }
    const reply = REPLIES[r];
    authz[reply.code!]!++;
    cb(reply);
  };

  return {
    Authorize(call: Call<AuthzReq>, cb: Reply<unknown>) {
      const q = call.request;
      let r: ReturnType<AccessService["authorize"]>;
      try {
        r = access.authorize({ domainId: q.domain_id, clientId: q.client_id, clientType: q.client_type, channelId: q.channel_id, type: q.type });
      } catch (err) {
        return replyFailure(logger, "Authorize", cb, err, authz);
      }
      if (r instanceof Promise)
        r.then(
          (v) => answer(cb, v),
          (err) => replyFailure(logger, "Authorize", cb, err, authz),
        );
      else answer(cb, r);
    },
    RemoveClientConnections: unary(logger, counts, "channels.v1.ChannelsService/RemoveClientConnections", async (req: { client_id: string }) => {
      await connections.removeClientConnections(req.client_id);
      return {};
    }),
    UnsetParentGroupFromChannels: unary(
      logger,
      counts,
      "channels.v1.ChannelsService/UnsetParentGroupFromChannels",
      async (req: { parent_group_id: string }) => {
        await channels.unsetParentGroup(req.parent_group_id);
        return {};
      },
    ),
    RetrieveEntity: unary(logger, counts, "channels.v1.ChannelsService/RetrieveEntity", async (req: { id: string }) => ({
      entity: entityBasic(await channels.retrieve(req.id)),
    })),
    RetrieveIDByRoute: unary(logger, counts, "channels.v1.ChannelsService/RetrieveIDByRoute", async (req: { route: string; domain_id: string }) => ({
      entity: { id: await channels.idByRoute(req.domain_id, req.route), domain_id: "", parent_group_id: "", status: 0 },
    })),
  };
}
