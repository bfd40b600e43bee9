import { answerAuthz, checkRecorder, credentialsCheck, type DialectContext, type HookRoute, jsonResponse } from "./dialect.ts";
import { text } from "./request.ts";
import type { Action } from "./topics.ts";

/**
 * EMQX 5 HTTP authentication and HTTP authorization (contract hooks.md §2): JSON or form POSTs, or
 * GET with a query string; always 200 with `{"result": "allow" | "deny"}`. Never a 4xx/5xx for a
 * decision: EMQX reads those as "ignore", and its default `no_match` is allow.
 */

const DENY = '{"result":"deny"}';
const allowAuthn = (id: string) => jsonResponse(`{"result":"allow","is_superuser":false,"client_attrs":{"mg_client_id":${JSON.stringify(id)}}}`);
const allowAuthz = () => jsonResponse('{"result":"allow"}');
const deny = () => jsonResponse(DENY);

export function emqxRoutes(ctx: DialectContext): HookRoute[] {
  const authn = checkRecorder(ctx, "emqx", "authn");
  const events = checkRecorder(ctx, "emqx", "events");
  const authz = { publish: checkRecorder(ctx, "emqx", "publish"), subscribe: checkRecorder(ctx, "emqx", "subscribe") };

  return [
    {
      path: "/emqx/authn",
      get: true,
      fault: deny,
      handle: credentialsCheck(ctx, authn, {
        dialect: "emqx",
        clientIdField: "clientid",
        token: true,
        ok: allowAuthn,
        no: deny,
        address: (f) => text(f, "peerhost"),
      }),
    },
    {
      // A webhook (EMQX 5 "Webhook" / HTTP action on the events client.connected and
      // client.disconnected, body `${.}`): presence. Always 200; nothing to decide.
      path: "/emqx/events",
      fault: () => jsonResponse("{}"),
      handle(f, request) {
        if (!ctx.tokenOk(request)) {
          events.refuse("unauthorized", { reason: "missing or wrong bearer token" });
          return jsonResponse("{}");
        }
        const event = f && text(f, "event");
        const clientid = f && text(f, "clientid");
        if (!f || !clientid || (event !== "client.connected" && event !== "client.disconnected")) {
          events.refuse("malformed", { reason: "malformed webhook: event (client.connected/client.disconnected) and clientid are required" });
          return jsonResponse("{}");
        }
        events.allow();
        ctx.session({
          dialect: "emqx",
          up: event === "client.connected",
          mqttClientId: clientid,
          username: text(f, "username") || undefined,
          address: text(f, "peername") ?? text(f, "peerhost"),
        });
        return jsonResponse("{}");
      },
    },
    {
      path: "/emqx/authz",
      get: true,
      fault: deny,
      handle(f, request) {
        const action = f && text(f, "action");
        const check = action === "publish" || action === "subscribe" ? authz[action] : undefined;
        if (!ctx.tokenOk(request)) {
          (check ?? authz.publish).refuse("unauthorized", { reason: "missing or wrong bearer token" });
          return deny();
        }
        const username = f && text(f, "username");
        const topic = f && text(f, "topic");
        if (!check || !username || topic === undefined) {
          (check ?? authz.publish).refuse("malformed", { reason: "malformed call-out: username, topic and action (publish/subscribe) are required" });
          return deny();
        }
        return answerAuthz(ctx, check, { username, topic, action: action as Action, clientId: text(f, "clientid") }, allowAuthz, deny);
      },
    },
  ];
}
