import { Elysia, t } from "elysia";
import type { Authenticator } from "../auth/standalone.ts";
import { docs } from "../http/openapi.ts";
import { ELYSIA_OPTIONS } from "../http/schema.ts";
import { consoleBundle } from "./bundle.ts";
import type { EventFeed } from "./feed.ts";
import { bytes, staticHandler, text } from "./static.ts";

/**
 * The console at /console (a single page: its script and style sheet come from the service, so
 * it works on a gateway without internet), and the live event tail it reads.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>magistrala-clients console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css">
</head>
<body>
<div id="app"></div>
<noscript>The console needs JavaScript.</noscript>
<script type="module" src="/console/app.js"></script>
</body>
</html>
`;

const MAX_REPLAY = 1000;
const hidden = { detail: { hide: true } };

export function consoleRoutes(deps: { auth: Authenticator; feed: EventFeed }) {
  return new Elysia({ ...ELYSIA_OPTIONS, name: "console" })
    .get("/console", staticHandler(text(PAGE, "text/html; charset=utf-8")), hidden)
    .get("/console/app.js", staticHandler(bytes(async () => (await consoleBundle()).js, "text/javascript; charset=utf-8")), hidden)
    .get("/console/app.css", staticHandler(bytes(async () => (await consoleBundle()).css, "text/css; charset=utf-8")), hidden)
    .get(
      "/:domainID/events",
      ({ request, params, set }) => {
        deps.auth.authenticate(request.headers.get("authorization"), params.domainID);
        const url = new URL(request.url);
        const replay = Math.min(MAX_REPLAY, Math.max(0, Number.parseInt(url.searchParams.get("replay") ?? "0", 10) || 0));
        const after = Number.parseInt(request.headers.get("last-event-id") ?? "", 10);
        set.headers["content-type"] = "text/event-stream; charset=utf-8";
        set.headers["cache-control"] = "no-cache";
        set.headers["x-accel-buffering"] = "no";
        return new Response(deps.feed.stream(params.domainID, replay, Number.isFinite(after) ? after : 0), {
          status: 200,
          headers: set.headers as Record<string, string>,
        });
      },
      {
        params: t.Object({ domainID: t.String() }),
        ...docs("events")({
          id: "streamEvents",
          summary: "Live tail of the domain's events",
          description:
            "Server-sent events (`text/event-stream`): each `data:` line is one event this instance committed in the domain, " +
            '`{"seq", "stream", "operation", "entity_id", "domain", "occurred_at", "payload"}` (payload as published on MQTT), with `id:` = seq. ' +
            "`?replay=N` (≤ 1000) first sends up to the N latest buffered events; `Last-Event-ID` resumes after that seq. " +
            "The buffer is in memory (the latest 1000 events of this process); the durable record is the outbox and the broker.",
          ok: { status: 200, description: "The stream; stays open, with a comment line every 5 s.", contentType: "text/event-stream" },
          parameters: [{ name: "replay", in: "query", required: false, schema: { type: "integer", minimum: 0, maximum: MAX_REPLAY } }],
        }),
      },
    );
}
