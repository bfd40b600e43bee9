import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import type { Authorization } from "./core.ts";
import { checkRecorder, credentialsCheck, type DialectContext, type HookRoute, textResponse } from "./dialect.ts";
import { text } from "./request.ts";

/**
 * NanoMQ (EMQX Edge) `auth.http_auth` (contract hooks.md §3): form POSTs by default, or a flat
 * JSON object, or GET with a query string. Only the status code counts: 200 accepts, 403 refuses
 * (a status ≥ 500 would read as "server unavailable", so never for a decision).
 */

const allow = () => textResponse("allow");
const refuse = () => textResponse("deny", 403);

export function nanomqRoutes(ctx: DialectContext): HookRoute[] {
  const { core } = ctx;
  const auth = checkRecorder(ctx, "nanomq", "authn");
  const superuser = checkRecorder(ctx, "nanomq", "superuser");
  const acl = { publish: checkRecorder(ctx, "nanomq", "publish"), subscribe: checkRecorder(ctx, "nanomq", "subscribe") };

  return [
    {
      path: "/nanomq/auth",
      get: true,
      fault: refuse,
      handle: credentialsCheck(ctx, auth, { dialect: "nanomq", clientIdField: "clientid", token: true, ok: allow, no: refuse }),
    },
    {
      path: "/nanomq/superuser",
      get: true,
      fault: refuse,
      handle(f) {
        // Nobody is a superuser: the service principal too goes through the ACL (its prefix only).
        superuser.refuse("deny", { reason: "not a superuser", username: f ? text(f, "username") : undefined });
        return refuse();
      },
    },
    {
      path: "/nanomq/acl",
      get: true,
      fault: refuse,
      handle(f, request) {
        // %A: 1 = subscribe, 2 = publish.
        const access = f && text(f, "access");
        const action = access === "1" ? "subscribe" : access === "2" ? "publish" : undefined;
        const check = action ? acl[action] : acl.publish;
        if (!ctx.tokenOk(request)) {
          check.refuse("unauthorized", { reason: "missing or wrong bearer token" });
          return refuse();
        }
        const username = f && text(f, "username");
        const topic = f && text(f, "topic");
        if (!action || !username || !topic) {
          check.refuse("malformed", { reason: "malformed call-out: username, topic and access (1/2) are required" });
          return refuse();
        }
        // A SUBSCRIBE's filters come joined by ',': each one must be allowed.
        const topics = action === "subscribe" ? topic.split(",") : [topic];
        return then(
          allAllowed(topics, (t) => core.authorize(username, t, action)),
          (r) => {
            if (r !== true) {
              check.refuse("deny", { reason: r, username, client_id: text(f, "clientid"), topic });
              return refuse();
            }
            check.allow();
            return allow();
          },
        );
      },
    },
  ];
}

/** `true` when every topic is allowed, else the first refusal (checked in order, stopping there). */
function allAllowed(topics: string[], authorize: (topic: string) => MaybePromise<Authorization>, from = 0): MaybePromise<Authorization> {
  if (from >= topics.length) return true;
  return then(authorize(topics[from]!), (r) => (r === true ? allAllowed(topics, authorize, from + 1) : r));
}
