/**
 * The cache-invalidation messages: what a change publishes on the database's invalidation bus
 * (src/db/invalidation/bus.ts) inside its transaction, and what every instance's access cache
 * (src/cache/access-cache.ts) applies at commit. The one place these strings are written and read;
 * which change publishes which is stated in src/domain/rules.ts.
 */

/** "Drop everything": the bus sends it itself whenever messages may have been missed; an import publishes it. */
export const FLUSH_ALL = "*";

/** The messages a change publishes: everything cached about a client, about a channel, or one connection tuple. */
export const invalidation = {
  client: (id: string) => `client:${id}`,
  channel: (id: string) => `channel:${id}`,
  connection: (domainId: string, clientId: string, channelId: string, type: number) => `conn:${type}:${JSON.stringify([domainId, clientId, channelId])}`,
};

/** Above this many tuples of one channel in one change, the channel's answers go as a whole. */
const TUPLES_PER_CHANNEL = 64;

/** The messages for a change of these connections: exact tuples, or the whole channel when many. */
export function connectionInvalidations(rows: { domainId: string; clientId: string; channelId: string; type: number }[]): string[] {
  const byChannel = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = byChannel.get(r.channelId);
    if (list) list.push(r);
    else byChannel.set(r.channelId, [r]);
  }
  const out: string[] = [];
  for (const [channelId, list] of byChannel) {
    if (list.length > TUPLES_PER_CHANNEL) out.push(invalidation.channel(channelId));
    else for (const r of list) out.push(invalidation.connection(r.domainId, r.clientId, r.channelId, r.type));
  }
  return out;
}

export type Invalidation =
  | { kind: "client"; id: string }
  | { kind: "channel"; id: string }
  | { kind: "connection"; domainId: string; clientId: string; channelId: string; type: number }
  /** FLUSH_ALL, or a message this build does not know. */
  | { kind: "all" };

/** Reads one message back. */
export function parseInvalidation(message: string): Invalidation {
  if (message.startsWith("client:")) return { kind: "client", id: message.slice(7) };
  if (message.startsWith("channel:")) return { kind: "channel", id: message.slice(8) };
  if (message.startsWith("conn:")) {
    const type = Number(message.slice(5, 6));
    const tuple = JSON.parse(message.slice(7)) as [string, string, string];
    return { kind: "connection", domainId: tuple[0], clientId: tuple[1], channelId: tuple[2], type };
  }
  return { kind: "all" };
}
