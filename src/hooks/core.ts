import { createHash, timingSafeEqual } from "node:crypto";
import type { AccessService } from "../auth/access.ts";
import type { AccessCache } from "../cache/access-cache.ts";
import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import { type Action, mayBeRoute, parseTopic, sharedFilter, underPrefix } from "./topics.ts";

/**
 * The one authenticate/authorize of every broker dialect (contract hooks.md §0): the access core
 * (same cache, same exact invalidation as gRPC) behind the MQTT view of a device — username =
 * client id, password = secret, topics in Magistrala's grammar — plus the appliance's own event
 * publisher as the service principal. Outcomes are values; only faults throw.
 */

/** Why a check was refused: logged, never sent to the broker as anything but its deny. */
type Refusal =
  | "bad credentials"
  | "topic outside the grammar"
  | "not connected to the channel"
  | "outside the events prefix"
  | "not a superuser"
  | "unknown vhost"
  | "resource not allowed";

type Authentication = { ok: true; id: string; principal: boolean } | { ok: false; reason: Refusal };
/** `true`, or why not. */
export type Authorization = true | Refusal;

export interface HookAccess {
  /**
   * MQTT credentials. `mqttClientId` starting with `http:` allows the Domain form as a fallback
   * (username = domain id), as Magistrala's MQTT adapter does.
   */
  authenticate(username: string, password: string, mqttClientId?: string): MaybePromise<Authentication>;
  /** May `subject` (an authenticated username / id) publish to, or subscribe to, `topic`? */
  authorize(subject: string, topic: string, action: Action): MaybePromise<Authorization>;
  /** Whether `username` is the service principal (by name only: it says nothing about a password). */
  isPrincipal(username: string): boolean;
}

export interface Principal {
  username: string;
  password: string;
}

export interface HookAccessDeps {
  access: AccessService;
  /** The route part of the access cache (exactly invalidated with the channel). */
  cache: Pick<AccessCache, "route" | "rememberRoute" | "epoch">;
  /** The channel with this route in the domain, any status (the by-route lookup of gRPC RetrieveIDByRoute). */
  channelIdByRoute(domainId: string, route: string): MaybePromise<string | undefined>;
  /** The event publisher's credentials (from MG_CLIENTS_ES_URL), when it has any. */
  principal?: Principal;
  /** MG_CLIENTS_ES_TOPIC_PREFIX: where the principal may publish and subscribe. */
  eventsPrefix: string;
}

const BAD_CREDENTIALS: Authentication = Object.freeze({ ok: false, reason: "bad credentials" });
const digest = (s: string) => createHash("sha256").update(s).digest();
const TYPE = { publish: 1, subscribe: 2 } as const;

export function createHookAccess(deps: HookAccessDeps): HookAccess {
  const { access, cache, eventsPrefix } = deps;
  const principalName = deps.principal?.username;
  // Compared as digests, in constant time: the principal's password never sits in a cache.
  const principalSecret = deps.principal ? digest(`${deps.principal.username}\u0000${deps.principal.password}`) : undefined;
  const isPrincipal = (username: string) => principalName !== undefined && username === principalName;

  const token = (form: "Basic" | "Domain", username: string, password: string) => form + Buffer.from(`${username}:${password}`).toString("base64");

  function channelOf(domain: string, channel: string): MaybePromise<string> {
    if (!mayBeRoute(channel)) return channel;
    const hit = cache.route(domain, channel);
    if (hit !== undefined) return hit;
    const epoch = cache.epoch;
    // No channel has this route: the segment is a custom channel id.
    return then(deps.channelIdByRoute(domain, channel), (id) => {
      if (id === undefined) return channel;
      cache.rememberRoute(domain, channel, id, epoch);
      return id;
    });
  }

  return {
    isPrincipal,

    authenticate(username, password, mqttClientId) {
      if (username === "" || password === "") return BAD_CREDENTIALS;
      if (principalSecret && username === principalName) {
        return timingSafeEqual(digest(`${username}\u0000${password}`), principalSecret) ? { ok: true, id: username, principal: true } : BAD_CREDENTIALS;
      }
      return then(access.authenticate(token("Basic", username, password)), (r): MaybePromise<Authentication> => {
        if (r.ok) return { ok: true, id: r.clientId, principal: false };
        if (!mqttClientId?.startsWith("http:")) return BAD_CREDENTIALS;
        return then(
          access.authenticate(token("Domain", username, password)),
          (d): Authentication => (d.ok ? { ok: true, id: d.clientId, principal: false } : BAD_CREDENTIALS),
        );
      });
    },

    authorize(subject, topic, action) {
      const filter = action === "subscribe" ? sharedFilter(topic) : topic;
      if (isPrincipal(subject)) return underPrefix(eventsPrefix, filter) || "outside the events prefix";
      if (subject === "") return "not connected to the channel";
      const parsed = parseTopic(filter, action);
      if (parsed.kind === "malformed") return "topic outside the grammar";
      if (parsed.kind === "health") return true;
      const domainId = parsed.domain;
      return then(channelOf(domainId, parsed.channel), (channelId) =>
        then(
          access.authorize({ domainId, clientId: subject, clientType: "client", channelId, type: TYPE[action] }),
          (r): Authorization => r === "allowed" || "not connected to the channel",
        ),
      );
    },
  };
}
