import type { Database, PendingEvent, Tx } from "../db/database.ts";

/**
 * The console's live tail of events: an in-memory ring of the latest events this process
 * committed (the same ones the outbox ships to the broker, whether or not a broker is there),
 * streamed to browsers as server-sent events by GET /{domainID}/events. Nothing here is durable:
 * a restart empties the ring; the outbox remains the record.
 */

interface FeedEvent {
  /** Increases by one per event in this process; the SSE `id`, for Last-Event-ID. */
  seq: number;
  stream: string;
  operation: string;
  entity_id: string;
  domain: string;
  /** Commit time, RFC 3339. */
  occurred_at: string;
  payload: Record<string, unknown>;
}

interface Stored {
  seq: number;
  at: number;
  event: PendingEvent;
  /** The event's domain; "" when neither it nor an earlier event of its entity says (every stream gets it). */
  domain: string;
}

interface Subscriber {
  domain: string;
  send(e: Stored): void;
  ping(): void;
  end(): void;
}

const encoder = new TextEncoder();
/** Comments keep idle streams below Bun's idle timeout (10 s) and through proxies. */
const HEARTBEAT_MS = 5000;
const PING = encoder.encode(": ping\n\n");

const domainOf = (e: PendingEvent) => (typeof e.payload.domain === "string" ? e.payload.domain : "");
/** Entities whose domain the feed remembers, for the events that do not carry one (role events). */
const KNOWN_ENTITIES = 10_000;

/** Whether a domain's stream shows the event: its own, and those of no known domain. */
const visible = (s: Stored, domain: string) => s.domain === domain || s.domain === "";

function toJson(s: Stored): FeedEvent {
  const { stream, entityId, payload } = s.event;
  return {
    seq: s.seq,
    stream,
    operation: typeof payload.operation === "string" ? payload.operation : stream.replace(/^magistrala\./, ""),
    entity_id: entityId,
    domain: s.domain,
    occurred_at: new Date(s.at).toISOString(),
    payload,
  };
}

const frame = (s: Stored) => encoder.encode(`id: ${s.seq}\ndata: ${JSON.stringify(toJson(s))}\n\n`);

export class EventFeed {
  private readonly ring: (Stored | undefined)[];
  private seq = 0;
  private readonly subscribers = new Set<Subscriber>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** entity id → domain, learned from the events that carry both (insertion order: oldest first). */
  private readonly domains = new Map<string, string>();

  constructor(readonly capacity = 1000) {
    this.ring = new Array(capacity);
  }

  /** After a commit: the transaction's events, in order. Cheap: formatting waits for a reader. */
  push(events: readonly PendingEvent[]): void {
    const at = Date.now();
    for (const event of events) {
      const s: Stored = { seq: ++this.seq, at, event, domain: this.domainOf(event) };
      this.ring[s.seq % this.capacity] = s;
      if (this.subscribers.size > 0) for (const sub of this.subscribers) if (visible(s, sub.domain)) sub.send(s);
    }
  }

  /** The buffered events of a domain after `afterSeq`, oldest first, at most `limit`. */
  recent(domain: string, limit: number, afterSeq = 0): FeedEvent[] {
    const out: Stored[] = [];
    for (let seq = this.seq; seq > Math.max(afterSeq, this.seq - this.capacity) && out.length < limit; seq--) {
      const s = this.ring[seq % this.capacity];
      if (s && s.seq === seq && visible(s, domain)) out.push(s);
    }
    return out.reverse().map(toJson);
  }

  /** A text/event-stream body: the replayed events first, then every new one of the domain. */
  stream(domain: string, replay: number, afterSeq = 0): ReadableStream<Uint8Array> {
    let sub: Subscriber | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        controller.enqueue(encoder.encode(": magistrala-clients events\n\n"));
        for (const e of this.recent(domain, afterSeq > 0 ? this.capacity : replay, afterSeq))
          controller.enqueue(encoder.encode(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`));
        const enqueue = (chunk: Uint8Array) => {
          try {
            controller.enqueue(chunk);
          } catch {
            this.drop(sub); // the reader went away between two events
          }
        };
        sub = {
          domain,
          send: (s) => enqueue(frame(s)),
          ping: () => enqueue(PING),
          end: () => {
            try {
              controller.close();
            } catch {
              // already closed by the reader
            }
          },
        };
        this.subscribers.add(sub);
        this.heartbeat ??= setInterval(() => {
          for (const s of this.subscribers) s.ping();
        }, HEARTBEAT_MS);
      },
      cancel: () => this.drop(sub),
    });
  }

  /** Role events name their entity but no domain (contract): the domain its earlier events had. */
  private domainOf(event: PendingEvent): string {
    const domain = domainOf(event);
    if (domain === "") return this.domains.get(event.entityId) ?? "";
    if (this.domains.get(event.entityId) !== domain) {
      this.domains.delete(event.entityId);
      this.domains.set(event.entityId, domain);
      if (this.domains.size > KNOWN_ENTITIES) this.domains.delete(this.domains.keys().next().value!);
    }
    return domain;
  }

  /** Ends every open stream (on shutdown, so the HTTP server can finish its in-flight requests). */
  close(): void {
    for (const sub of [...this.subscribers]) {
      sub.end();
      this.drop(sub);
    }
  }

  private drop(sub: Subscriber | undefined): void {
    if (sub) this.subscribers.delete(sub);
    if (this.subscribers.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}

/**
 * The database as the services see it, with every committed transaction's events also handed to
 * `sink` (after commit, never for a rolled-back or retried attempt). The events module is left
 * as it is: this only observes `tx.emit`.
 */
export function observeCommittedEvents(db: Database, sink: (events: PendingEvent[]) => void): Database {
  const transact = db.transact.bind(db);
  const observed: Pick<Database, "transact"> = {
    transact: (fn) =>
      transact((tx) => {
        observe(tx, sink);
        return fn(tx);
      }),
  };
  return Object.assign(Object.create(db) as Database, observed);
}

function observe(tx: Tx, sink: (events: PendingEvent[]) => void): void {
  const emit = tx.emit.bind(tx);
  let events: PendingEvent[] | undefined;
  tx.emit = (event) => {
    if (!events) {
      const mine: PendingEvent[] = (events = []);
      tx.afterCommit(() => sink(mine));
    }
    events.push(event);
    emit(event);
  };
}
