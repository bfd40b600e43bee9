import type { Logger } from "../../log/logger.ts";
import { type BusEndpoint, Subscribers } from "./bus.ts";

/** SQLite: one process owns the database, so the bus is a list of local subscribers. */
export function createLocalBus(logger: Logger): BusEndpoint {
  const subs = new Subscribers(logger);
  return {
    coherent: true,
    publish: (message) => subs.deliver(message),
    subscribe: (handler) => subs.add(handler),
    afterCommit: (messages) => {
      for (const m of messages) subs.deliver(m);
    },
    close: async () => undefined,
  };
}
