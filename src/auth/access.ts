import { createHash } from "node:crypto";
import { type AccessCache, authzKey } from "../cache/access-cache.ts";
import { storableText } from "../domain/text.ts";
import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import type { SecretHasher } from "./secrets.ts";

/**
 * The hot path of the product: "who is this device?" (Authenticate) and "may it publish or
 * subscribe here?" (Authorize), for co-located protocol adapters over gRPC. A narrow service that
 * skips the user-facing layers: no sessions, no events, prepared lookups, an exactly invalidated
 * cache, and outcomes as values — only faults throw.
 */

export type AuthnOutcome =
  | { ok: true; clientId: string }
  /** Well-formed but no enabled client matches (or no recognised prefix). */
  | { ok: false; reason: "denied" }
  /** Not base64 after the optional prefix (the reference answers INTERNAL). */
  | { ok: false; reason: "malformed" };

export type AuthzOutcome =
  | "allowed"
  | "denied"
  /** type is not 1 (publish) or 2 (subscribe). */
  | "invalid_type"
  /** client_type "user" without a domain. */
  | "missing_domain"
  /** client_type is neither "client" nor a supported "user". */
  | "unknown_client_type";

interface AuthzQuery {
  domainId: string;
  clientId: string;
  clientType: string;
  channelId: string;
  type: number;
}

export interface AccessDeps {
  clients: {
    authRecord(id: string): MaybePromise<{ domainId: string; secretHash: string } | undefined>;
    idBySecret(domainId: string, secretHash: string): MaybePromise<string | undefined>;
  };
  connections: { clientMay(domainId: string, clientId: string, channelId: string, type: number): MaybePromise<boolean> };
  hasher: SecretHasher;
  cache: AccessCache;
  /**
   * Users (client_type "user"): the standalone super-admin may do anything; others through a
   * role on the channel holding the action. Absent until roles exist: "user" is then refused.
   */
  users?: {
    superAdminId: string;
    mayAccessChannel(domainId: string, userId: string, channelId: string, action: "publish" | "subscribe"): MaybePromise<boolean>;
  };
}

export interface AccessService {
  authenticate(token: string): MaybePromise<AuthnOutcome>;
  authorize(q: AuthzQuery): MaybePromise<AuthzOutcome>;
}

const DENIED: AuthnOutcome = Object.freeze({ ok: false, reason: "denied" }) as AuthnOutcome;
const MALFORMED: AuthnOutcome = Object.freeze({ ok: false, reason: "malformed" }) as AuthnOutcome;
/** Standard alphabet with padding, as Go's base64.StdEncoding. */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The cache key of a token: its SHA-256 (the token itself is never kept). */
const tokenKey = (token: string) => createHash("sha256").update(token).digest("base64");

/** Ids with a NUL or a lone surrogate match nothing stored (and Postgres would refuse them in a lookup). */
const lookupable = (q: AuthzQuery) => storableText(q.clientId) && storableText(q.channelId) && storableText(q.domainId);

export function createAccessService(deps: AccessDeps): AccessService {
  const { clients, connections, hasher, cache } = deps;

  function checkCredentials(token: string): MaybePromise<AuthnOutcome> {
    let form: "basic" | "domain" | undefined;
    let payload = token;
    if (token.startsWith("Basic")) {
      form = "basic";
      payload = token.slice(5);
    } else if (token.startsWith("Domain")) {
      form = "domain";
      payload = token.slice(6);
    }
    if (!STD_BASE64.test(payload)) return MALFORMED;
    if (form === undefined) return DENIED;
    const decoded = Buffer.from(payload, "base64").toString("utf8");
    const colon = decoded.indexOf(":"); // the secret may contain ':'
    if (colon < 0) return DENIED;
    const subject = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    // A NUL or lone surrogate matches nothing stored (and Postgres would refuse it in a lookup).
    if (subject === "" || secret === "" || !storableText(subject)) return DENIED;
    if (form === "basic") {
      return then(
        clients.authRecord(subject),
        (rec): AuthnOutcome => (rec && hasher.matches(rec.domainId, secret, rec.secretHash) ? { ok: true, clientId: subject } : DENIED),
      );
    }
    return then(clients.idBySecret(subject, hasher.hash(subject, secret)), (id): AuthnOutcome => (id ? { ok: true, clientId: id } : DENIED));
  }

  function authorizeUser(q: AuthzQuery): MaybePromise<AuthzOutcome> {
    const users = deps.users!;
    // The super-admin comes as a bare user id; everyone else as <domainID>_<userID>.
    if (q.clientId === users.superAdminId) return "allowed";
    const prefix = `${q.domainId}_`;
    if (!q.clientId.startsWith(prefix) || q.clientId.length === prefix.length) return "denied";
    const userId = q.clientId.slice(prefix.length);
    if (userId === users.superAdminId) return "allowed";
    const key = authzKey("u", q.domainId, userId, q.channelId, q.type);
    const hit = cache.authorized(key);
    if (hit !== undefined) return hit ? "allowed" : "denied";
    if (!lookupable(q)) return "denied";
    const epoch = cache.epoch;
    return then(users.mayAccessChannel(q.domainId, userId, q.channelId, q.type === 1 ? "publish" : "subscribe"), (allowed) => {
      cache.rememberAuthorized(key, allowed, userId, q.channelId, epoch);
      return allowed ? "allowed" : "denied";
    });
  }

  return {
    authenticate(token) {
      const key = tokenKey(token);
      const cached = cache.authenticated(key);
      if (cached !== undefined) return { ok: true, clientId: cached };
      const epoch = cache.epoch;
      return then(checkCredentials(token), (outcome) => {
        if (outcome.ok) cache.rememberAuthenticated(key, outcome.clientId, epoch);
        return outcome;
      });
    },

    authorize(q) {
      if (q.type !== 1 && q.type !== 2) return "invalid_type";
      if (q.clientType === "client") {
        const key = authzKey("c", q.domainId, q.clientId, q.channelId, q.type);
        const hit = cache.authorized(key);
        if (hit !== undefined) return hit ? "allowed" : "denied";
        if (!lookupable(q)) return "denied";
        const epoch = cache.epoch;
        return then(connections.clientMay(q.domainId, q.clientId, q.channelId, q.type), (allowed) => {
          cache.rememberAuthorized(key, allowed, q.clientId, q.channelId, epoch);
          return allowed ? "allowed" : "denied";
        });
      }
      if (q.clientType === "user" && deps.users) {
        if (q.domainId === "") return "missing_domain";
        return authorizeUser(q);
      }
      return "unknown_client_type";
    },
  };
}
