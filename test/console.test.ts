import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestService, type TestService } from "./helpers/service.ts";

/** The console's server side: its page and bundle, and the live event stream GET /{domainID}/events. */

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

/** Reads server-sent events from a stream until `count` data frames arrived. */
async function readEvents(res: Response, count: number): Promise<any[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: any[] = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = frame.split("\n").find((l) => l.startsWith("data: "));
      if (data) events.push(JSON.parse(data.slice(6)));
    }
  }
  await reader.cancel();
  return events;
}

const stream = (domain: string, query = "", headers: Record<string, string> = {}) =>
  fetch(`${svc.url}/${domain}/events${query}`, { headers: { authorization: `Bearer ${svc.token}`, ...headers } });

describe("the console page", () => {
  test("/console, its script and its style sheet come from the service, under a same-origin policy", async () => {
    const page = await fetch(`${svc.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('src="/console/app.js"');
    const js = await fetch(`${svc.url}/console/app.js`, { headers: { "accept-encoding": "gzip" } });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toStartWith("text/javascript");
    expect(await js.text()).toContain("Standalone token");
    const etag = js.headers.get("etag")!;
    expect((await fetch(`${svc.url}/console/app.js`, { headers: { "if-none-match": etag } })).status).toBe(304);
    const css = await fetch(`${svc.url}/console/app.css`);
    expect(css.headers.get("content-type")).toStartWith("text/css");
    expect(await css.text()).toContain("font-family");
  });
});

describe("GET /{domainID}/events", () => {
  test("needs the token: 401 with the API's message", async () => {
    const r = await fetch(`${svc.url}/ev-a/events`, { headers: { authorization: "Bearer nope" } });
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ message: "failed to perform authentication over the entity" });
    expect((await fetch(`${svc.url}/ev-a/events`)).status).toBe(401);
  });

  test("replays the domain's latest committed events, then streams new ones; other domains' stay out", async () => {
    const a = await svc.api("POST", "/ev-a/clients", { name: "one" });
    await svc.api("POST", "/ev-b/clients", { name: "elsewhere" });
    await svc.api("POST", "/ev-a/clients", "not json"); // refused: no event
    const res = await stream("ev-a", "?replay=10");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const live = readEvents(res, 3);
    const ch = await svc.api("POST", "/ev-a/channels", { name: "ch" });
    await svc.api("POST", `/ev-a/channels/${ch.json.id}/connect`, { client_ids: [a.json.id], types: ["publish"] });
    const events = await live;
    expect(events.map((e) => [e.operation, e.domain, e.entity_id])).toEqual([
      ["client.create", "ev-a", a.json.id],
      ["channel.create", "ev-a", ch.json.id],
      ["channel.connect", "ev-a", ch.json.id],
    ]);
    expect(events[0].stream).toBe("magistrala.client.create");
    expect(events[0].payload).toMatchObject({ operation: "client.create", id: a.json.id, name: "one", domain: "ev-a" });
    expect(JSON.stringify(events)).not.toContain("secret");
    expect(events[1].seq).toBeGreaterThan(events[0].seq);
    expect(Date.parse(events[0].occurred_at)).toBeGreaterThan(Date.now() - 60_000);
    // Resuming after the first one gives the rest.
    const resumed = await readEvents(await stream("ev-a", "", { "last-event-id": String(events[0].seq) }), 2);
    expect(resumed.map((e) => e.seq)).toEqual([events[1].seq, events[2].seq]);
    // Role events carry no domain (contract events.md §4): the feed knows their entity's.
    const roles = readEvents(await stream("ev-a"), 1);
    await svc.api("POST", `/ev-a/clients/${a.json.id}/roles`, { role_name: "ops", optional_actions: ["read"] });
    expect((await roles).map((e) => [e.operation, e.domain, e.entity_id])).toEqual([["client.role.add", "ev-a", a.json.id]]);
  });

  test("an open stream does not hold up the service's shutdown", async () => {
    const other = await startTestService();
    const res = await fetch(`${other.url}/d/events`, { headers: { authorization: `Bearer ${other.token}` } });
    expect(res.status).toBe(200);
    const t0 = performance.now();
    await other.dispose();
    expect(performance.now() - t0).toBeLessThan(5000);
    const reader = res.body!.getReader();
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) break; // the stream ended
  });
});
