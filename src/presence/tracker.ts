import type { Database } from "../db/database.ts";
import { systemContext } from "../domain/context.ts";
import { emitEvent } from "../domain/events.ts";
import { formatTime, type Micros } from "../domain/time.ts";
import type { Logger } from "../log/logger.ts";
import { createPresenceRepository, type PresenceRepository, type PresenceRow } from "./repository.ts";

/**
 * Device presence, kept in memory and written to the database in batches, so that a reconnect
 * storm costs authentication a few map operations and no write of its own.
 *
 * What it learns from:
 * - every successful hook authentication (`authenticated`): last seen, the address where the
 *   dialect passes it; with a polled broker (RabbitMQ) also a *tentative* session, counted until
 *   the broker's list shows the connection (its management API lists one only after its stats
 *   interval) or, if it never does, until `tentativeMs` passed;
 * - the broker's own notices (`session`: EMQX webhooks, VerneMQ on_register/on_client_offline/gone),
 *   keyed by MQTT client id;
 * - the broker's connection list (`snapshot`, RabbitMQ, every poll interval): its sessions replace
 *   the polled ones.
 *
 * Changes mark the client dirty; `flush` (every `flushMs`, sooner when many are waiting) writes the
 * dirty clients in one transaction, with one `client.presence` event per client whose `connected`
 * flipped. Clients without a session leave memory once written: the database row is their truth.
 */

/** Rows per presence transaction. */
const WRITE_CHUNK = 250;
/** A connected client's `last_seen` is "now" anyway; the stored one is refreshed at most once a minute. */
const LAST_SEEN_SLACK_US = 60_000_000;

export interface PresenceView {
  connected: boolean;
  sessions: number;
  lastSeen?: Micros;
  address?: string;
}

interface Entry {
  /** Live sessions: key (`p:` polled connection, `s:` notified MQTT client id) → address. */
  sessions: Map<string, string | undefined>;
  /** Tentative sessions (polled brokers): MQTT client id (or "") → when they lapse (ms). */
  tentative?: Map<string, number>;
  lastSeen?: Micros;
  address?: string;
  /** `connected` as last written (and published); undefined: never written by this process. */
  written?: boolean;
  /** The row as last written: a change of `last_seen` alone is written only once it is a minute old. */
  stored?: { sessions: number; address?: string; lastSeen?: Micros };
  /** The MQTT client ids seen for this client (EMQX and VerneMQ kick sessions by them). */
  mqtt?: Set<string>;
}

export interface PresenceTrackerOptions {
  db: Database;
  logger: Logger;
  /** The broker lists its connections (RabbitMQ): authentications open tentative sessions. */
  polled: boolean;
  /** How long a tentative session counts without the broker listing it. */
  tentativeMs?: number;
  flushMs?: number;
  /** Dirty clients that trigger a flush before the interval is up. */
  flushAt?: number;
  /** The service principal's username: not a device, never tracked. */
  principal?: string;
  now?: () => number;
}

export interface PresenceTracker {
  /** Hot path (every successful authentication): no I/O, no promise. */
  authenticated(e: { id: string; mqttClientId?: string; address?: string }): void;
  session(e: { up: boolean; mqttClientId: string; username?: string; address?: string }): void;
  /** The broker's complete list of live sessions, read starting at `startedAt` (ms). */
  snapshot(sessions: { username: string; key: string; address?: string }[], startedAt: number): Promise<void>;
  /** The MQTT client ids presence knows for this client (what EMQX and VerneMQ kick by). */
  mqttClientIdsOf(id: string): string[];
  view(id: string): Promise<PresenceView>;
  /** Writes the dirty clients now. */
  flush(): Promise<void>;
  readonly dirty: number;
  start(): void;
  /** Stops the timer and writes what is left. */
  stop(): Promise<void>;
}

export function createPresenceTracker(opts: PresenceTrackerOptions): PresenceTracker {
  const repo: PresenceRepository = createPresenceRepository(opts.db);
  const now = opts.now ?? Date.now;
  const tentativeMs = opts.tentativeMs ?? 15_000;
  const flushMs = opts.flushMs ?? 1000;
  const flushAt = opts.flushAt ?? 5000;
  const entries = new Map<string, Entry>();
  /** MQTT client id → the username (client id) whose session it is (for notices that carry no username). */
  const owners = new Map<string, string>();
  const dirty = new Set<string>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let flushing: Promise<void> | undefined;
  let reconciled = !opts.polled;

  const entry = (id: string): Entry => {
    let e = entries.get(id);
    if (!e) entries.set(id, (e = { sessions: new Map() }));
    return e;
  };
  const count = (e: Entry) => e.sessions.size + (e.tentative?.size ?? 0);
  const mark = (id: string) => {
    dirty.add(id);
    if (dirty.size >= flushAt && !flushing) void flush();
  };
  /** Written and idle: the database row is the truth now (memory stays bounded by live sessions). */
  const forget = (id: string, e: Entry) => {
    entries.delete(id);
    for (const cid of e.mqtt ?? []) if (owners.get(cid) === id) owners.delete(cid);
  };
  const own = (e: Entry, id: string, mqttClientId: string) => {
    owners.set(mqttClientId, id);
    (e.mqtt ??= new Set()).add(mqttClientId);
  };
  const seen = (e: Entry, address?: string) => {
    e.lastSeen = now() * 1000;
    if (address) e.address = address;
  };

  /** Would writing this entry change its row? (`last_seen` alone: only once the stored one is a minute old.) */
  const due = (e: Entry): boolean => {
    const s = e.stored;
    if (!s || e.written === undefined) return true;
    const n = count(e);
    if (n > 0 !== e.written || n !== s.sessions || e.address !== s.address) return true;
    return (e.lastSeen ?? 0) - (s.lastSeen ?? 0) >= LAST_SEEN_SLACK_US;
  };

  function flush(): Promise<void> {
    if (flushing) return flushing.then(() => (dirty.size > 0 ? flush() : undefined));
    if (dirty.size === 0) return Promise.resolve();
    const ids: string[] = [];
    for (const id of dirty) {
      const e = entries.get(id);
      if (!e || due(e)) ids.push(id);
      else if (count(e) === 0) forget(id, e); // its row says so already
    }
    dirty.clear();
    flushing = writeAll(ids).finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  /**
   * Small transactions with a turn of the event loop between them: a storm's ten thousand rows
   * never hold the (synchronous) SQLite connection long enough to delay an authentication much.
   */
  async function writeAll(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += WRITE_CHUNK) {
      const chunk = ids.slice(i, i + WRITE_CHUNK);
      try {
        await write(chunk);
      } catch (err) {
        for (const id of ids.slice(i)) dirty.add(id);
        opts.logger.warn("presence write failed, will retry", { error: err, clients: ids.length - i });
        return;
      }
      if (i + WRITE_CHUNK < ids.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async function write(ids: string[]): Promise<void> {
    /** What this write stored per client (the state may move on while it runs). */
    const stored = new Map<string, PresenceRow>();
    await opts.db.transact(async (tx) => {
      stored.clear();
      const domains = await repo.domainsOf(tx, ids);
      const rows: PresenceRow[] = [];
      const gone: string[] = [];
      for (const id of ids) {
        const e = entries.get(id);
        const domainId = domains.get(id);
        if (!domainId) {
          gone.push(id);
          continue;
        }
        if (!e) continue;
        const n = count(e);
        const row: PresenceRow = { clientId: id, domainId, connected: n > 0, sessions: n, lastSeen: e.lastSeen ?? null, address: e.address ?? null };
        rows.push(row);
        stored.set(id, row);
        if ((e.written ?? false) !== row.connected) {
          emitEvent(tx, systemContext(domainId), "client.presence", id, presenceFields(row));
        }
      }
      await repo.write(tx, rows, gone);
    });
    for (const id of ids) {
      // Not a client (any more): nothing was stored; an idle entry goes.
      const e = entries.get(id);
      if (e && !stored.has(id) && count(e) === 0 && !dirty.has(id)) entries.delete(id);
    }
    for (const [id, row] of stored) {
      const e = entries.get(id);
      if (!e) continue;
      e.written = row.connected;
      e.stored = { sessions: row.sessions, address: row.address ?? undefined, lastSeen: row.lastSeen ?? undefined };
      const n = count(e);
      // Written and idle: the database row is the truth now (memory stays bounded by live sessions).
      if (n === 0 && !dirty.has(id)) forget(id, e);
    }
  }

  /** Tentative sessions past their time lapse (the broker never listed them). */
  function lapse(at: number) {
    for (const [id, e] of entries) {
      if (!e.tentative) continue;
      for (const [k, until] of e.tentative) if (until <= at) e.tentative.delete(k);
      if (e.tentative.size === 0) {
        e.tentative = undefined;
        mark(id);
      }
    }
  }

  return {
    get dirty() {
      return dirty.size;
    },

    authenticated({ id, mqttClientId, address }) {
      if (id === opts.principal) return;
      const e = entry(id);
      seen(e, address);
      if (mqttClientId) own(e, id, mqttClientId);
      if (opts.polled) (e.tentative ??= new Map()).set(mqttClientId ?? "", now() + tentativeMs);
      mark(id);
    },

    session({ up, mqttClientId, username, address }) {
      const id = username ?? owners.get(mqttClientId);
      if (id === undefined || id === opts.principal) return;
      const e = entry(id);
      seen(e, up ? address : undefined);
      if (up) {
        own(e, id, mqttClientId);
        e.sessions.set(`s:${mqttClientId}`, address);
        e.tentative?.delete(mqttClientId);
      } else {
        owners.delete(mqttClientId);
        e.sessions.delete(`s:${mqttClientId}`);
        e.tentative?.delete(mqttClientId);
      }
      mark(id);
    },

    async snapshot(sessions, startedAt) {
      const byUser = new Map<string, Map<string, string | undefined>>();
      for (const s of sessions) {
        if (s.username === opts.principal) continue;
        let m = byUser.get(s.username);
        if (!m) byUser.set(s.username, (m = new Map()));
        m.set(`p:${s.key}`, s.address);
      }
      // Polled sessions that are gone.
      for (const [id, e] of entries) {
        if (byUser.has(id)) continue;
        let changed = false;
        for (const k of e.sessions.keys())
          if (k.startsWith("p:")) {
            e.sessions.delete(k);
            changed = true;
          }
        if (changed) {
          e.lastSeen = startedAt * 1000;
          mark(id);
        }
      }
      for (const [id, listed] of byUser) {
        const e = entry(id);
        const before = count(e);
        for (const k of e.sessions.keys()) if (k.startsWith("p:") && !listed.has(k)) e.sessions.delete(k);
        let address: string | undefined;
        for (const [k, a] of listed) {
          if (!e.sessions.has(k)) e.lastSeen = now() * 1000;
          e.sessions.set(k, a);
          address ??= a;
        }
        // Listed: its tentative sessions are the listed ones now.
        e.tentative = undefined;
        if (address && address !== e.address) {
          e.address = address;
          mark(id);
        }
        if (count(e) !== before || e.written !== true) mark(id);
      }
      lapse(now());
      if (!reconciled) {
        // After a restart the database may still hold clients as connected that left meanwhile.
        reconciled = true;
        for (const id of await repo.connectedIds()) {
          if (byUser.has(id)) continue;
          const e = entry(id);
          if (count(e) > 0) continue;
          e.written = true;
          mark(id);
        }
      }
    },

    mqttClientIdsOf(id) {
      return [...(entries.get(id)?.mqtt ?? [])];
    },

    async view(id) {
      const e = entries.get(id);
      if (e) {
        const n = count(e);
        // Connected: seen right now.
        return { connected: n > 0, sessions: n, lastSeen: n > 0 ? now() * 1000 : e.lastSeen, address: e.address };
      }
      const row = await repo.find(id);
      if (!row) return { connected: false, sessions: 0 };
      return { connected: row.connected, sessions: row.sessions, lastSeen: row.lastSeen ?? undefined, address: row.address ?? undefined };
    },

    flush,

    start() {
      timer ??= setInterval(() => void flush(), flushMs);
    },

    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
    },
  };
}

/** The `client.presence` event's keys besides the session keys (docs/events.md). */
function presenceFields(r: PresenceRow): Record<string, unknown> {
  const f: Record<string, unknown> = { id: r.clientId, connected: r.connected, sessions: r.sessions };
  if (r.lastSeen !== null) f.last_seen = formatTime(r.lastSeen);
  if (r.address !== null) f.address = r.address;
  return f;
}
