import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import type { Authorization } from "./core.ts";
import { answerAuthz, checkRecorder, credentialsCheck, type DialectContext, type HookRoute, jsonResponse } from "./dialect.ts";
import { type Fields, text } from "./request.ts";

/**
 * VerneMQ `vmq_webhooks` (contract hooks.md §5): one endpoint, JSON POSTs, the hook named in the
 * `vernemq-hook` header; every answer is 200. No `cache-control` is sent, so VerneMQ caches
 * nothing (exact invalidation beats a TTL).
 *
 * auth_on_subscribe answers each rejected filter with QoS 128. The MQTT 5 hook reads its topics
 * from `modifiers` (vmq_webhooks_plugin: handle_response), the 3.1.1 hook from `topics`; both
 * answers carry `topics`, the MQTT 5 one also `modifiers.topics` with the allowed entries as they
 * came (their subscription options kept).
 */

const OK = '{"result":"ok"}';
const NOT_ALLOWED = '{"result":{"error":"not_allowed"}}';
const ok = () => jsonResponse(OK);
const notAllowed = () => jsonResponse(NOT_ALLOWED);

/** Notification hooks: the answer is ignored, or "ok" leaves everything as it was. */
const NOTIFICATIONS = new Set([
  "on_register",
  "on_register_m5",
  "on_publish",
  "on_publish_m5",
  "on_subscribe",
  "on_subscribe_m5",
  "on_unsubscribe",
  "on_unsubscribe_m5",
  "on_deliver",
  "on_deliver_m5",
  "on_offline_message",
  "on_client_wakeup",
  "on_client_offline",
  "on_client_gone",
  "on_session_expired",
]);

/** `peer_addr:peer_port` of a register call-out (an IPv6 address in brackets). */
function peerOf(f: Fields): string | undefined {
  const addr = text(f, "peer_addr");
  if (!addr) return undefined;
  const port = text(f, "peer_port");
  const host = addr.includes(":") ? `[${addr}]` : addr;
  return port ? `${host}:${port}` : addr;
}

type Filter = Record<string, unknown> & { topic: string };

export function vernemqRoutes(ctx: DialectContext): HookRoute[] {
  const { core } = ctx;
  const register = checkRecorder(ctx, "vernemq", "authn");
  const publish = checkRecorder(ctx, "vernemq", "publish");
  const subscribe = checkRecorder(ctx, "vernemq", "subscribe");
  const other = checkRecorder(ctx, "vernemq", "other");

  // The token was checked already, for every hook.
  const onRegister = credentialsCheck(ctx, register, {
    dialect: "vernemq",
    clientIdField: "client_id",
    token: false,
    ok,
    no: notAllowed,
    address: peerOf,
  });
  const sessions = checkRecorder(ctx, "vernemq", "session");
  /** on_register (up), on_client_offline / on_client_gone (down): presence. */
  function sessionNotice(f: Fields, up: boolean): Response {
    const clientId = text(f, "client_id");
    if (!clientId) {
      sessions.refuse("malformed", { reason: "malformed call-out: no client_id" });
      return ok();
    }
    sessions.allow();
    ctx.session({ dialect: "vernemq", up, mqttClientId: clientId, username: text(f, "username") || undefined, address: peerOf(f) });
    return ok();
  }

  function onSubscribe(f: Fields, m5: boolean): MaybePromise<Response> {
    const username = text(f, "username");
    const list = f.topics;
    if (!username || !Array.isArray(list) || list.length === 0 || !list.every((t) => t && typeof t === "object" && typeof t.topic === "string")) {
      subscribe.refuse("malformed", { reason: "malformed call-out: username and topics [{topic, qos}] are required" });
      return notAllowed();
    }
    const filters = list as Filter[];
    const verdicts: Authorization[] = [];
    const each = (i: number): MaybePromise<void> =>
      i >= filters.length
        ? undefined
        : then(core.authorize(username, filters[i]!.topic, "subscribe"), (r) => {
            verdicts.push(r);
            return each(i + 1);
          });
    return then(each(0), () => {
      const clientId = text(f, "client_id");
      const granted = filters.map((t, i) => {
        const r = verdicts[i]!;
        if (r === true) {
          subscribe.allow();
          return t;
        }
        subscribe.refuse("deny", { reason: r, username, client_id: clientId, topic: t.topic });
        return { topic: t.topic, qos: 128 };
      });
      const topics = granted.map((t) => ({ topic: t.topic, qos: t.qos }));
      return jsonResponse(JSON.stringify(m5 ? { result: "ok", topics, modifiers: { topics: granted } } : { result: "ok", topics }));
    });
  }

  return [
    {
      path: "/vernemq",
      fault: notAllowed,
      handle(f, request) {
        const hook = request.headers.get("vernemq-hook") ?? "";
        if (!ctx.tokenOk(request)) {
          other.refuse("unauthorized", { reason: `missing or wrong bearer token (${hook || "no hook"})` });
          return notAllowed();
        }
        if (!f) {
          other.refuse("malformed", { reason: `malformed call-out: not a JSON object (${hook || "no hook"})` });
          return notAllowed();
        }
        switch (hook) {
          case "auth_on_register":
          case "auth_on_register_m5":
            return onRegister(f, request);
          case "auth_on_publish":
          case "auth_on_publish_m5": {
            const username = text(f, "username");
            const topic = text(f, "topic");
            if (!username || topic === undefined) {
              publish.refuse("malformed", { reason: "malformed call-out: username and topic are required" });
              return notAllowed();
            }
            return answerAuthz(ctx, publish, { username, topic, action: "publish", clientId: text(f, "client_id") }, ok, notAllowed);
          }
          case "auth_on_subscribe":
          case "auth_on_subscribe_m5":
            return onSubscribe(f, hook.endsWith("_m5"));
          case "on_register":
          case "on_register_m5":
            return sessionNotice(f, true);
          case "on_client_offline":
          case "on_client_gone":
            return sessionNotice(f, false);
          default:
            if (NOTIFICATIONS.has(hook)) return ok();
            // Anything else (on_auth_m5, a hook this version does not know, no header): refused.
            other.refuse("malformed", { reason: `unknown hook "${hook}"` });
            return notAllowed();
        }
      },
    },
  ];
}
