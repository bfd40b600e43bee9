// Baseline for scripts/bench/hooks.ts: a bare Elysia server that parses the same call-out bodies
// as the hooks listener (EMQX authz JSON, RabbitMQ topic form) and answers a constant.
import { Elysia } from "elysia";

const port = Number(process.argv[2]);
new Elysia()
  .post(
    "/emqx/authz",
    async ({ request }) => {
      const f = JSON.parse(await request.text()) as Record<string, unknown>;
      return new Response(f.topic ? '{"result":"allow"}' : '{"result":"deny"}', { headers: { "content-type": "application/json" } });
    },
    { parse: "none" },
  )
  .post(
    "/rabbitmq/topic",
    async ({ request }) => {
      const f: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(await request.text())) f[k] = v;
      return new Response(f.routing_key ? "allow" : "deny", { headers: { "content-type": "text/plain; charset=utf-8" } });
    },
    { parse: "none" },
  )
  .listen({ hostname: "localhost", port });
console.log("ready");
