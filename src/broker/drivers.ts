import type { BrokerConfig, BrokerKind } from "../config/config.ts";

/**
 * One driver per broker management API (MG_CLIENTS_BROKER_KIND): close a client's live sessions,
 * and, where the broker cannot tell us itself, list them (RabbitMQ). Plain HTTP with the
 * credentials of MG_CLIENTS_BROKER_API_URL as Basic; the password never leaves this file.
 */

/** A live session as the broker lists it. */
interface BrokerSession {
  /** The MQTT username: the client id. */
  username: string;
  /** The broker's key for the session (connection name, MQTT client id). */
  key: string;
  address?: string;
}

/** The broker API failed in a way a later attempt may not (unreachable, 5xx, 401/403, 429). */
export class BrokerApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "BrokerApiError";
  }
}

interface KickResult {
  /** Requests that closed a session, where the broker says (404 = there was none). */
  closed: number;
  /** A request the broker refused for good (another 4xx): logged, not retried. */
  refused?: string;
}

export interface BrokerDriver {
  readonly kind: BrokerKind;
  /**
   * Closes every live session of `username` (and of these MQTT client ids, which presence knows
   * for it). Resolves once the broker confirmed, also when there was none; throws BrokerApiError
   * when it should be tried again.
   */
  kick(username: string, mqttClientIds: readonly string[]): Promise<KickResult>;
  /** The broker's live MQTT sessions (polled, RabbitMQ only). */
  sessions?(): Promise<BrokerSession[]>;
}

const TIMEOUT_MS = 5000;

type Outcome = "ok" | "absent" | "refused";

function client(config: BrokerConfig) {
  const auth = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString("base64")}`;
  async function call(method: string, path: string): Promise<{ outcome: Outcome; status: number; body: string }> {
    let res: Response;
    try {
      res = await fetch(`${config.apiUrl}${path}`, {
        method,
        headers: { authorization: auth, accept: "application/json" },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new BrokerApiError(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const body = await res.text().catch(() => "");
    if (res.ok) return { outcome: "ok", status: res.status, body };
    if (res.status === 404) return { outcome: "absent", status: 404, body };
    if (res.status >= 500 || res.status === 401 || res.status === 403 || res.status === 408 || res.status === 429)
      throw new BrokerApiError(`${method} ${path}: HTTP ${res.status}`, res.status);
    return { outcome: "refused", status: res.status, body };
  }
  return call;
}

const enc = encodeURIComponent;
const unique = (xs: readonly string[]) => [...new Set(xs)];

/** RabbitMQ management plugin: `DELETE /api/connections/username/{name}` closes all of the user's connections. */
function rabbitmq(config: BrokerConfig): BrokerDriver {
  const call = client(config);
  return {
    kind: "rabbitmq",
    async kick(username) {
      const r = await call("DELETE", `/api/connections/username/${enc(username)}`);
      return r.outcome === "refused" ? { closed: 0, refused: `HTTP ${r.status}` } : { closed: r.outcome === "ok" ? 1 : 0 };
    },
    async sessions() {
      const r = await call("GET", "/api/connections?columns=name,user,peer_host,peer_port,protocol");
      if (r.outcome !== "ok") throw new BrokerApiError(`GET /api/connections: HTTP ${r.status}`, r.status);
      const list = JSON.parse(r.body) as { name?: string; user?: string; peer_host?: string; peer_port?: number; protocol?: string }[];
      const out: BrokerSession[] = [];
      for (const c of list) {
        if (!c.user || !c.name || (c.protocol !== undefined && !String(c.protocol).startsWith("MQTT"))) continue;
        const host = c.peer_host?.includes(":") ? `[${c.peer_host}]` : c.peer_host;
        out.push({ username: c.user, key: c.name, address: host ? (c.peer_port ? `${host}:${c.peer_port}` : host) : undefined });
      }
      return out;
    },
  };
}

/**
 * EMQX 5: sessions are keyed by the MQTT client id, which may differ from the username. The
 * client ids of the username are listed (`GET /api/v5/clients?username=`), joined with those
 * presence saw and the username itself, and each is kicked (`DELETE /api/v5/clients/{clientid}`).
 */
function emqx(config: BrokerConfig): BrokerDriver {
  const call = client(config);
  return {
    kind: "emqx",
    async kick(username, mqttClientIds) {
      const listed = await call("GET", `/api/v5/clients?username=${enc(username)}&limit=1000`);
      const ids = [...mqttClientIds, username];
      if (listed.outcome === "ok") {
        try {
          for (const c of (JSON.parse(listed.body) as { data?: { clientid?: string }[] }).data ?? []) if (c.clientid) ids.push(c.clientid);
        } catch {
          // an unreadable list: the known ids still go
        }
      }
      let closed = 0;
      for (const id of unique(ids)) {
        const r = await call("DELETE", `/api/v5/clients/${enc(id)}`);
        if (r.outcome === "ok") closed++;
      }
      return { closed };
    },
  };
}

/**
 * VerneMQ HTTP API (a wrapper of `vmq-admin`, GET with the API key as the Basic user):
 * `vmq-admin session disconnect client-id=<id> --cleanup` is
 * `GET /api/v1/session/disconnect?client-id=<id>&--cleanup` (the session's subscriptions go too,
 * so a resumed session cannot keep a revoked one).
 */
function vernemq(config: BrokerConfig): BrokerDriver {
  const call = client(config);
  return {
    kind: "vernemq",
    async kick(username, mqttClientIds) {
      let closed = 0;
      for (const id of unique([...mqttClientIds, username])) {
        const r = await call("GET", `/api/v1/session/disconnect?client-id=${enc(id)}&--cleanup`);
        if (r.outcome === "ok") closed++;
      }
      return { closed };
    },
  };
}

export function brokerDriver(config: BrokerConfig): BrokerDriver {
  switch (config.kind) {
    case "rabbitmq":
      return rabbitmq(config);
    case "emqx":
      return emqx(config);
    case "vernemq":
      return vernemq(config);
  }
}
