/**
 * The topic grammar of Magistrala's messaging (pkg/messaging/topics.go; contract hooks.md §0), as
 * pure functions: what a broker hook needs to turn a topic into "which channel, which domain".
 *
 *   [/]m/<domain>/c/<channel>[/<subtopic>]     messages of a channel (id or route)
 *   [/]hc/<domain>                             health, always allowed
 *
 * Anything else is refused (fail closed). The domain is taken literally (there is no domain
 * registry); the channel is an id or a route, resolved by the caller.
 */

export type Action = "publish" | "subscribe";

export type ParsedTopic = { kind: "health"; domain: string } | { kind: "channel"; domain: string; channel: string; subtopic: string } | { kind: "malformed" };

const MALFORMED: ParsedTopic = Object.freeze({ kind: "malformed" });
/** Wildcards of MQTT and NATS: never in the domain or channel position, never in a published subtopic. */
const WILDCARD = /[+#*>]/;

/** Magistrala's formatSubtopic: percent-decoded, one leading and one trailing '/' and blanks trimmed. */
function formatSubtopic(subtopic: string): string | undefined {
  let s: string;
  try {
    s = subtopic.includes("%") ? decodeURIComponent(subtopic) : subtopic;
  } catch {
    return undefined;
  }
  if (s.startsWith("/")) s = s.slice(1);
  if (s.endsWith("/")) s = s.slice(0, -1);
  return s.trim();
}

function validSubtopic(raw: string, action: Action): string | undefined {
  if (raw === "") return "";
  const s = formatSubtopic(raw);
  if (s === undefined || s.includes(" ") || s.includes("//")) return undefined;
  if (action === "publish") return /[+#*>]/.test(s) ? undefined : s;
  if (/[*>]/.test(s)) return undefined;
  // '+' and '#' only as whole levels.
  for (const level of s.split("/")) if (level.length > 1 && /[+#]/.test(level)) return undefined;
  return s;
}

/**
 * Parses a topic (publish) or a topic filter (subscribe). A shared subscription
 * (`$share/<group>/<filter>`) is the caller's to unwrap first (sharedFilter).
 */
export function parseTopic(topic: string, action: Action): ParsedTopic {
  const t = topic.startsWith("/") ? topic.slice(1) : topic;
  if (t.startsWith("hc/")) {
    const domain = t.slice(3);
    return domain === "" || domain.includes("/") || WILDCARD.test(domain) ? MALFORMED : { kind: "health", domain };
  }
  if (!t.startsWith("m/")) return MALFORMED;
  const c = t.indexOf("/c/", 2);
  if (c <= 2) return MALFORMED;
  const domain = t.slice(2, c);
  const rest = t.slice(c + 3);
  const slash = rest.indexOf("/");
  const channel = slash < 0 ? rest : rest.slice(0, slash);
  if (domain.includes("/") || channel === "" || WILDCARD.test(domain) || WILDCARD.test(channel)) return MALFORMED;
  const subtopic = validSubtopic(slash < 0 ? "" : rest.slice(slash + 1), action);
  return subtopic === undefined ? MALFORMED : { kind: "channel", domain, channel, subtopic };
}

/** The filter of an MQTT 5 shared subscription `$share/<group>/<filter>`; other filters as they are. */
export function sharedFilter(filter: string): string {
  if (!filter.startsWith("$share/")) return filter;
  const slash = filter.indexOf("/", 7);
  return slash < 0 ? "" : filter.slice(slash + 1);
}

/**
 * The service principal's rule: `<prefix>` itself or anything under `<prefix>/` (the prefix has no
 * wildcards: the configuration refuses them, so a filter's wildcards can only sit below it).
 */
export function underPrefix(prefix: string, topic: string): boolean {
  return topic === prefix || (topic.startsWith(prefix) && topic.charCodeAt(prefix.length) === 47) /* '/' */;
}

/**
 * The MQTT topic (filter) behind a RabbitMQ routing key: rabbitmq_mqtt maps '/' to '.' and '+' to
 * '*' ('#' stays). A '.' inside a topic level is not escaped, so it comes back as a level break.
 */
export function fromRoutingKey(key: string): string {
  return key.replaceAll(".", "/").replaceAll("*", "+");
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A channel route (contract: 1-36 of [a-zA-Z0-9_-], starting with a letter, never a UUID). */
const ROUTE = /^[a-zA-Z][a-zA-Z0-9_-]{0,35}$/;

/**
 * Whether a channel segment may be a route: UUIDs and what no route can look like are ids and
 * need no lookup.
 */
export function mayBeRoute(channel: string): boolean {
  return ROUTE.test(channel) && !UUID.test(channel);
}
