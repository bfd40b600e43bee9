import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import type { Logger } from "../log/logger.ts";
import type { HookAccess } from "./core.ts";
import { type Fields, text } from "./request.ts";
import type { Action } from "./topics.ts";

/**
 * What every dialect adapter shares: the one access core, the counters behind
 * `hooks_checks_total{dialect,check,outcome}` and one `info` line per refusal (never a password).
 */

export type Outcome = "allow" | "deny" | "malformed" | "unauthorized";
const OUTCOMES: readonly Outcome[] = ["allow", "deny", "malformed", "unauthorized"];

/** Counts per dialect and check, one array increment per answer (read by /metrics). */
export class HookCounts {
  private readonly byCheck = new Map<string, { dialect: string; check: string; n: number[] }>();
  counter(dialect: string, check: string): number[] {
    const key = `${dialect}\u0000${check}`;
    let e = this.byCheck.get(key);
    if (!e) this.byCheck.set(key, (e = { dialect, check, n: [0, 0, 0, 0] }));
    return e.n;
  }
  totals(): [Record<string, string>, number][] {
    const out: [Record<string, string>, number][] = [];
    for (const { dialect, check, n } of this.byCheck.values()) {
      for (let i = 0; i < n.length; i++) out.push([{ dialect, check, outcome: OUTCOMES[i]! }, n[i]!]);
    }
    return out;
  }
}

/** A successful authentication, as a dialect saw it (for presence: who connected, through what). */
export interface Authenticated {
  dialect: string;
  /** The client id (or the service principal's username). */
  id: string;
  principal: boolean;
  /** The MQTT client id, where the broker passes it. */
  mqttClientId?: string;
  /** The device's address (`ip` or `ip:port`), where the broker passes it. */
  address?: string;
}

/**
 * A broker's own word on a session (EMQX `client.connected`/`client.disconnected` webhooks,
 * VerneMQ `on_register`/`on_client_offline`/`on_client_gone`), for presence.
 */
export interface SessionNotice {
  dialect: string;
  up: boolean;
  /** The MQTT client id: the session's key at the broker. */
  mqttClientId: string;
  /** The authenticated username (the client id), when the notice carries it. */
  username?: string;
  address?: string;
}

export interface DialectContext {
  core: HookAccess;
  counts: HookCounts;
  logger: Logger;
  /** The hooks token was presented (always true without MG_CLIENTS_HOOKS_TOKEN); reads headers only then. */
  tokenOk(from: Request | Headers): boolean;
  authenticated(e: Authenticated): void;
  session(e: SessionNotice): void;
}

/** What a refusal's log line carries (no password, ever). */
export interface RefusalInfo {
  reason: string;
  username?: string;
  client_id?: string;
  topic?: string;
}

/**
 * The answer side of one check: `allow()` / `refuse(outcome, info)` count it, and a refusal writes
 * its one log line.
 */
export function checkRecorder(ctx: DialectContext, dialect: string, check: string) {
  const n = ctx.counts.counter(dialect, check);
  return {
    allow(): void {
      n[0]!++;
    },
    refuse(outcome: Exclude<Outcome, "allow">, info: RefusalInfo): void {
      n[OUTCOMES.indexOf(outcome)]!++;
      ctx.logger.info("hook refused", { dialect, check, outcome, ...info });
    },
  };
}

export type CheckRecorder = ReturnType<typeof checkRecorder>;

/** One route of the hooks listener; `fields` is undefined for a body that could not be decoded. */
export interface HookRoute {
  path: string;
  /** GET is also accepted where the broker can send the fields as a query string. */
  get?: boolean;
  /** Reads the body itself (Connect); otherwise it is decoded into fields first. */
  raw?: (request: Request) => Promise<Response>;
  handle?(fields: Fields | undefined, request: Request): MaybePromise<Response>;
  /** The dialect's deny, for a call whose handling failed. */
  fault(): Response;
}

/** A plain-text / JSON response; a fresh one per call (a Response body can be read once). */
export const textResponse = (body: string, status = 200) => new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
export const jsonResponse = (body: string, status = 200) => new Response(body, { status, headers: { "content-type": "application/json" } });

/**
 * The CONNECT check every dialect makes, from its call-out's `username`, `password` and client id
 * field: the hooks token first where the broker can send it, then authenticate; `ok(id)` (and the
 * `authenticated` notice) or `no()`, counted and logged. A missing password (certificate login)
 * is refused.
 */
export function credentialsCheck(
  ctx: DialectContext,
  rec: CheckRecorder,
  o: {
    dialect: string;
    clientIdField: string;
    token: boolean;
    ok: (id: string, principal: boolean) => Response;
    no: () => Response;
    /** The device's address from the call-out, where the dialect passes one. */
    address?: (f: Fields) => string | undefined;
  },
) {
  return (f: Fields | undefined, request: Request): MaybePromise<Response> => {
    if (o.token && !ctx.tokenOk(request)) {
      rec.refuse("unauthorized", { reason: "missing or wrong bearer token" });
      return o.no();
    }
    const username = f && text(f, "username");
    if (!f || username === undefined) {
      rec.refuse("malformed", { reason: "malformed call-out: no username" });
      return o.no();
    }
    const clientId = text(f, o.clientIdField);
    return then(ctx.core.authenticate(username, text(f, "password") ?? "", clientId), (r) => {
      if (!r.ok) {
        rec.refuse("deny", { reason: r.reason, username, client_id: clientId });
        return o.no();
      }
      rec.allow();
      ctx.authenticated({ dialect: o.dialect, id: r.id, principal: r.principal, mqttClientId: clientId, address: o.address?.(f) });
      return o.ok(r.id, r.principal);
    });
  };
}

/** Authorizes one topic and answers `ok()` or `no()`, counted and logged. */
export function answerAuthz(
  ctx: DialectContext,
  rec: CheckRecorder,
  q: { username: string; topic: string; action: Action; clientId?: string },
  ok: () => Response,
  no: () => Response,
): MaybePromise<Response> {
  return then(ctx.core.authorize(q.username, q.topic, q.action), (r) => {
    if (r !== true) {
      rec.refuse("deny", { reason: r, username: q.username, client_id: q.clientId, topic: q.topic });
      return no();
    }
    rec.allow();
    return ok();
  });
}
