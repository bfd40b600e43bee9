import { LRUCache } from "lru-cache";
import { parseInvalidation } from "../domain/invalidation.ts";

/**
 * Answers of the gRPC hot path, kept in process (DESIGN decision 4: never stale).
 *
 * - authentication: hash of the token → client id. Only successes are kept (a denial costs one
 *   indexed lookup, and caching denials would let anyone fill the cache).
 * - authorization: (kind, domain, subject, channel, type) → allowed or not.
 * - routes (broker hooks): (domain, route) → channel id. Only found routes are kept; routes are
 *   immutable, so only the channel's deletion (invalidateChannel) can make one wrong.
 *
 * Every entry is also indexed by the client (or user) and the channel it depends on, so a change
 * invalidates exactly the entries it affects, right after its commit. `epoch` moves on every
 * invalidation, and each invalidation records the epoch at which it touched its client, channel
 * or connection tuple: a caller that looked an answer up asynchronously (Postgres) stores it only
 * if nothing the answer depends on was invalidated since the lookup began. Unrelated writes do
 * not hold it back (one global guard made the cache nearly useless under write load). On SQLite
 * the lookup is synchronous and this never matters.
 */

interface AuthnEntry {
  clientId: string;
}

interface AuthzEntry {
  allowed: boolean;
  subject: string;
  channelId: string;
}

export interface CacheStats {
  authnHits: number;
  authnMisses: number;
  authzHits: number;
  authzMisses: number;
  routeHits: number;
  routeMisses: number;
}

export interface AccessCacheOptions {
  ttlMs: number;
  /** Bound of each of the two caches. */
  maxEntries: number;
  /**
   * True while invalidations from other instances may be missed (the bus is reconnecting): the
   * cache then neither answers nor remembers, and every call goes to the database.
   */
  bypass?: () => boolean;
}

class KeyIndex {
  private readonly map = new Map<string, Set<string>>();
  add(owner: string, key: string): void {
    let keys = this.map.get(owner);
    if (!keys) this.map.set(owner, (keys = new Set()));
    keys.add(key);
  }
  remove(owner: string, key: string): void {
    const keys = this.map.get(owner);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.map.delete(owner);
  }
  /** The keys of `owner`, detached (deleting them from the cache calls `remove`). */
  take(owner: string): string[] {
    const keys = this.map.get(owner);
    return keys ? [...keys] : [];
  }
  clear(): void {
    this.map.clear();
  }
}

export const authzKey = (kind: "c" | "u", domainId: string, subject: string, channelId: string, type: number) =>
  `${kind}\u0000${domainId}\u0000${subject}\u0000${channelId}\u0000${type}`;

const routeKey = (domainId: string, route: string) => `${domainId}\u0000${route}`;

/** Invalidated keys remembered with their epoch; past this many, all are forgotten at once (see `floor`). */
const MAX_TRACKED = 10_000;

export class AccessCache {
  readonly stats: CacheStats = { authnHits: 0, authnMisses: 0, authzHits: 0, authzMisses: 0, routeHits: 0, routeMisses: 0 };
  private seq = 0;
  /** Client, channel and tuple keys (see `touch`) → the epoch of their last invalidation. */
  private readonly changedAt = new Map<string, number>();
  /** Lookups begun before this epoch may have been overtaken by a forgotten invalidation: never stored. */
  private floor = 0;

  /** Moves on every invalidation; a lookup takes it before it starts (see the class comment). */
  get epoch(): number {
    return this.seq;
  }

  private touch(key: string): void {
    const at = ++this.seq;
    if (this.changedAt.size >= MAX_TRACKED) {
      this.changedAt.clear();
      this.floor = at;
    }
    this.changedAt.set(key, at);
  }

  /** Whether an answer looked up from `since` on, depending on these keys, may be stale. */
  private overtaken(since: number, a: string, b?: string, c?: string): boolean {
    if (since === this.seq) return false;
    if (since < this.floor) return true;
    const m = this.changedAt;
    return (m.get(a) ?? 0) > since || (b !== undefined && (m.get(b) ?? 0) > since) || (c !== undefined && (m.get(c) ?? 0) > since);
  }
  private readonly authnByClient = new KeyIndex();
  private readonly authzBySubject = new KeyIndex();
  private readonly authzByChannel = new KeyIndex();
  private readonly routesByChannel = new KeyIndex();
  private readonly max: number;
  private readonly ttl: number | undefined;

  /*
   * The three LRUs are made at first use, or a second after the cache (start-up), whichever comes
   * first: each preallocates its `max` slots (~4–13 ms at 100,000), which the service need not pay
   * before it answers its first request. With caching off they are never made.
   */
  private authnLru?: LRUCache<string, AuthnEntry>;
  private authzLru?: LRUCache<string, AuthzEntry>;
  private routesLru?: LRUCache<string, { channelId: string }>;
  private get authn(): LRUCache<string, AuthnEntry> {
    this.authnLru ??= new LRUCache<string, AuthnEntry>({
      max: this.max,
      ttl: this.ttl,
      dispose: (v, k) => this.authnByClient.remove(v.clientId, k),
    });
    return this.authnLru;
  }
  private get authz(): LRUCache<string, AuthzEntry> {
    this.authzLru ??= new LRUCache<string, AuthzEntry>({
      max: this.max,
      ttl: this.ttl,
      dispose: (v, k) => {
        this.authzBySubject.remove(v.subject, k);
        this.authzByChannel.remove(v.channelId, k);
      },
    });
    return this.authzLru;
  }
  private get routes(): LRUCache<string, { channelId: string }> {
    this.routesLru ??= new LRUCache<string, { channelId: string }>({
      max: this.max,
      ttl: this.ttl,
      dispose: (v, k) => this.routesByChannel.remove(v.channelId, k),
    });
    return this.routesLru;
  }

  constructor(opts: AccessCacheOptions) {
    this.ttl = opts.ttlMs > 0 ? opts.ttlMs : undefined;
    this.max = opts.maxEntries;
    // A TTL of 0 means "do not cache": every call goes to the database.
    this.enabled = this.ttl !== undefined;
    this.bypass = opts.bypass ?? (() => false);
    if (this.enabled)
      setTimeout(() => {
        void this.authn;
        void this.authz;
        void this.routes;
      }, 1000).unref();
  }

  private readonly enabled: boolean;
  private readonly bypass: () => boolean;

  authenticated(tokenKey: string): string | undefined {
    const e = this.enabled && !this.bypass() ? this.authn.get(tokenKey) : undefined;
    if (e) this.stats.authnHits++;
    else this.stats.authnMisses++;
    return e?.clientId;
  }

  rememberAuthenticated(tokenKey: string, clientId: string, epoch: number): void {
    if (!this.enabled || this.overtaken(epoch, `c:${clientId}`) || this.bypass()) return;
    this.authn.set(tokenKey, { clientId });
    this.authnByClient.add(clientId, tokenKey);
  }

  authorized(key: string): boolean | undefined {
    const e = this.enabled && !this.bypass() ? this.authz.get(key) : undefined;
    if (e) this.stats.authzHits++;
    else this.stats.authzMisses++;
    return e?.allowed;
  }

  rememberAuthorized(key: string, allowed: boolean, subject: string, channelId: string, epoch: number): void {
    if (!this.enabled || this.overtaken(epoch, `c:${subject}`, `h:${channelId}`, `t:${key}`) || this.bypass()) return;
    this.authz.set(key, { allowed, subject, channelId });
    this.authzBySubject.add(subject, key);
    this.authzByChannel.add(channelId, key);
  }

  /** The channel id of a route in a domain, if cached. */
  route(domainId: string, route: string): string | undefined {
    const e = this.enabled && !this.bypass() ? this.routes.get(routeKey(domainId, route)) : undefined;
    if (e) this.stats.routeHits++;
    else this.stats.routeMisses++;
    return e?.channelId;
  }

  rememberRoute(domainId: string, route: string, channelId: string, epoch: number): void {
    if (!this.enabled || this.overtaken(epoch, `h:${channelId}`) || this.bypass()) return;
    const key = routeKey(domainId, route);
    this.routes.set(key, { channelId });
    this.routesByChannel.add(channelId, key);
  }

  /** A client's credentials, status or existence changed: its authentications and authorizations go. */
  invalidateClient(clientId: string): void {
    this.touch(`c:${clientId}`);
    for (const k of this.authnByClient.take(clientId)) this.authn.delete(k);
    for (const k of this.authzBySubject.take(clientId)) this.authz.delete(k);
  }

  /** A channel's status or existence, or the roles on it, changed: every answer about it goes. */
  invalidateChannel(channelId: string): void {
    this.touch(`h:${channelId}`);
    for (const k of this.authzByChannel.take(channelId)) this.authz.delete(k);
    for (const k of this.routesByChannel.take(channelId)) this.routes.delete(k);
  }

  /** One connection tuple was added or removed. */
  invalidateConnection(domainId: string, clientId: string, channelId: string, type: number): void {
    const key = authzKey("c", domainId, clientId, channelId, type);
    this.touch(`t:${key}`);
    this.authz.delete(key);
  }

  /** Everything (e.g. after missed invalidations from another instance). */
  clear(): void {
    this.floor = ++this.seq;
    this.changedAt.clear();
    this.authn.clear();
    this.authz.clear();
    this.routes.clear();
    this.authnByClient.clear();
    this.authzBySubject.clear();
    this.authzByChannel.clear();
    this.routesByChannel.clear();
  }

  get size(): { authn: number; authz: number; route: number } {
    return { authn: this.authn.size, authz: this.authz.size, route: this.routes.size };
  }
}

/** Applies one bus message (src/domain/invalidation.ts) to the cache; FLUSH_ALL and anything unknown drop everything. */
export function applyInvalidation(cache: AccessCache, message: string): void {
  const m = parseInvalidation(message);
  if (m.kind === "client") cache.invalidateClient(m.id);
  else if (m.kind === "channel") cache.invalidateChannel(m.id);
  else if (m.kind === "connection") cache.invalidateConnection(m.domainId, m.clientId, m.channelId, m.type);
  else cache.clear();
}
