import type { MqttProtocol } from "mqtt";

/** What /health reports. */
export type BrokerState = "connected" | "disconnected" | "disabled";

/** `events` + `magistrala.client.create` → `events/magistrala/client/create`. */
export function topicFor(prefix: string, stream: string): string {
  const p = prefix.replace(/\/+$/, "");
  const s = stream.replaceAll(".", "/");
  return p ? `${p}/${s}` : s;
}

export interface BrokerTarget {
  protocol: MqttProtocol;
  host: string;
  port?: number;
  /** WebSocket path. */
  path?: string;
  username?: string;
  password?: string;
}

/**
 * mqtt.js connection options from MG_CLIENTS_ES_URL, credentials percent-decoded. Options rather
 * than the URL itself: mqtt.js would run it through the deprecated `url.parse()`, which prints a
 * warning to stderr.
 */
export function brokerTarget(url: string): BrokerTarget {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, "") as MqttProtocol;
  const target: BrokerTarget = { protocol, host: u.hostname.replace(/^\[(.*)\]$/, "$1") };
  if (u.port) target.port = Number(u.port);
  if (protocol.startsWith("ws")) target.path = u.pathname + u.search;
  if (u.username) target.username = decodeURIComponent(u.username);
  if (u.password) target.password = decodeURIComponent(u.password);
  return target;
}
