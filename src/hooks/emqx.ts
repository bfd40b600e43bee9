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
  const authz = { publish: checkRecorder(ctx, "emqx", "publish"), subscribe: checkRecorder(ctx, "emqx", "subscribe") };

  return [
    {
      path: "/emqx/authn",
      get: true,
      fault: deny,
      handle: credentialsCheck(ctx, authn, { dialect: "emqx", clientIdField: "clientid", token: true, ok: allowAuthn, no: deny }),
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
