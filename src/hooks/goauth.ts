import { answerAuthz, checkRecorder, credentialsCheck, type DialectContext, type HookRoute, jsonResponse } from "./dialect.ts";
import { text } from "./request.ts";
import type { Action } from "./topics.ts";

/**
 * mosquitto-go-auth's HTTP backend (contract hooks.md §4): JSON POSTs by default, form fields with
 * `params_mode = form`. Allow is 200 `{"ok":true}`, deny 403 `{"ok":false,"error":…}`, so that both
 * `response_mode = status` and `json` read them right (`text` cannot read the allow: use one of
 * those). go-auth cannot send headers: the listener's address is the trust boundary.
 */

const allow = () => jsonResponse('{"ok":true}');
const deny = (error = "not allowed") => jsonResponse(JSON.stringify({ ok: false, error }), 403);
const denied = () => deny();

/** `acc`: 1 = read (a message is about to be delivered: checked like a subscription, per message), 2 = write, 4 = subscribe. */
const ACC: Record<string, { action: Action; check: string }> = {
  "1": { action: "subscribe", check: "read" },
  "2": { action: "publish", check: "publish" },
  "4": { action: "subscribe", check: "subscribe" },
};

export function goAuthRoutes(ctx: DialectContext): HookRoute[] {
  const user = checkRecorder(ctx, "go-auth", "authn");
  const superuser = checkRecorder(ctx, "go-auth", "superuser");
  const acl: Record<string, ReturnType<typeof checkRecorder>> = {
    read: checkRecorder(ctx, "go-auth", "read"),
    publish: checkRecorder(ctx, "go-auth", "publish"),
    subscribe: checkRecorder(ctx, "go-auth", "subscribe"),
  };

  return [
    {
      path: "/go-auth/user",
      fault: denied,
      handle: credentialsCheck(ctx, user, { dialect: "go-auth", clientIdField: "clientid", token: false, ok: allow, no: denied }),
    },
    {
      path: "/go-auth/superuser",
      fault: denied,
      handle(f) {
        superuser.refuse("deny", { reason: "not a superuser", username: f ? text(f, "username") : undefined });
        return deny("not a superuser");
      },
    },
    {
      path: "/go-auth/acl",
      fault: denied,
      handle(f) {
        const acc = f ? ACC[text(f, "acc") ?? ""] : undefined;
        const username = f && text(f, "username");
        const topic = f && text(f, "topic");
        if (!acc || !username || !topic) {
          (acc ? acl[acc.check]! : acl.publish!).refuse("malformed", { reason: "malformed call-out: username, topic and acc (1/2/4) are required" });
          return deny("malformed request");
        }
        return answerAuthz(ctx, acl[acc.check]!, { username, topic, action: acc.action, clientId: text(f!, "clientid") }, allow, denied);
      },
    },
  ];
}
