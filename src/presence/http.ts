import { Elysia, t } from "elysia";
import type { RequestContext } from "../domain/context.ts";
import { formatTime } from "../domain/time.ts";
import { docs, ok } from "../http/openapi.ts";
import { ELYSIA_OPTIONS } from "../http/schema.ts";
import { reply, requestContext } from "../http/server.ts";
import type { PresenceTracker, PresenceView } from "./tracker.ts";

const doc = docs("clients");
const params = t.Object({ domainID: t.String(), clientID: t.String() });

/** The presence body: `last_seen` and `address` only when known. */
function presenceJson(p: PresenceView): Record<string, unknown> {
  const body: Record<string, unknown> = { connected: p.connected, sessions: p.sessions };
  if (p.lastSeen !== undefined) body.last_seen = formatTime(p.lastSeen);
  if (p.address !== undefined) body.address = p.address;
  return body;
}

/** `GET /{domainID}/clients/{clientID}/presence`: a client of the domain (else 404), then what presence knows. */
export function presenceRoutes(clients: { view(ctx: RequestContext, id: string): unknown }, presence: Pick<PresenceTracker, "view">) {
  return new Elysia({ ...ELYSIA_OPTIONS, name: "presence-routes" }).get(
    "/:domainID/clients/:clientID/presence",
    async ({ request, params, set }) => {
      await clients.view(requestContext(request), params.clientID);
      return reply(set, 200, presenceJson(await presence.view(params.clientID)));
    },
    {
      params,
      ...doc({
        id: "clientPresence",
        summary: "Is the client connected to the broker, and when was it last seen",
        description:
          "From the broker hooks (every authentication) and the broker (RabbitMQ's connection list polled every MG_CLIENTS_BROKER_POLL_INTERVAL, EMQX and VerneMQ webhooks): see docs/brokers.md.",
        ok: ok("Presence", "The client's presence; `last_seen` and `address` omitted when it was never seen."),
        fails: [404],
      }),
    },
  );
}
