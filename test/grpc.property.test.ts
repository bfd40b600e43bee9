import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { basic, call, domainToken, type GrpcClients, grpc, grpcClients } from "./helpers/grpc.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * Property: whatever the interleaving of changes and checks, every Authenticate/Authorize answer
 * — over gRPC and over the broker hooks (EMQX, RabbitMQ, FluxMQ; channels named by id or by
 * route, routes of deleted channels reused) — equals what an uncached lookup of the current truth gives. The truth is a model of what the
 * service accepted (each change's HTTP status says whether it happened); the cache keeps answers
 * for an hour, so only exact invalidation can keep them right.
 */

const STEPS = Number(process.env.PROPERTY_STEPS ?? 5000);
const SEED = Number(process.env.PROPERTY_SEED ?? Date.now() % 1_000_000);

/** mulberry32: a small seeded PRNG, so a failure can be replayed with PROPERTY_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelClient {
  id: string;
  domain: string;
  secret: string;
  /** Every secret it ever had (old ones must be refused). */
  secrets: string[];
  enabled: boolean;
  exists: boolean;
}
interface ModelChannel {
  id: string;
  domain: string;
  route?: string;
  enabled: boolean;
  exists: boolean;
}

let svc: TestService;
let g: GrpcClients;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_CACHE_KEY_DURATION: "1h", MG_CLIENTS_HOOKS_HOST: "127.0.0.1", MG_CLIENTS_HOOKS_PORT: "0" });
  g = grpcClients(svc.grpcAddress);
});
afterAll(async () => {
  g.close();
  await svc.dispose();
});

describe("the cache is never stale", () => {
  test(`${STEPS} random operations interleaved with Authenticate/Authorize agree with the truth (seed ${SEED})`, async () => {
    const rand = prng(SEED);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const DOMAINS = ["pa", "pb"];
    const clients: ModelClient[] = [];
    const channels: ModelChannel[] = [];
    const conns = new Set<string>();
    const key = (ch: string, cl: string, t: number) => `${ch}|${cl}|${t}`;
    let secretN = 0;
    const newSecret = () => `s-${SEED}-${++secretN}`;
    const counts: Record<string, number> = {};
    const tally = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

    async function createClient() {
      const domain = pick(DOMAINS);
      const secret = newSecret();
      const r = await svc.api("POST", `/${domain}/clients`, { credentials: { secret } });
      expect(r.status).toBe(201);
      clients.push({ id: r.json.id, domain, secret, secrets: [secret], enabled: true, exists: true });
    }
    let routeN = 0;
    async function createChannel() {
      const domain = pick(DOMAINS);
      // Often with a route, sometimes the route of a deleted channel of the domain (a stale route would show).
      const freed = channels.filter((c) => !c.exists && c.domain === domain && c.route && !channels.some((o) => o.exists && o.route === c.route));
      const route = rand() < 0.3 ? undefined : freed.length > 0 && rand() < 0.5 ? pick(freed).route : `r${SEED}x${++routeN}`;
      const r = await svc.api("POST", `/${domain}/channels`, route ? { route } : {});
      expect(r.status).toBe(201);
      channels.push({ id: r.json.id, domain, route, enabled: true, exists: true });
    }
    for (let i = 0; i < 6; i++) await createClient();
    for (let i = 0; i < 4; i++) await createChannel();

    const typesOf = () => pick([["publish"], ["subscribe"], ["publish", "subscribe"]]);
    const typeNum = (t: string) => (t === "publish" ? 1 : 2);

    const mutations: [number, () => Promise<void>][] = [
      [3, createClient],
      [2, createChannel],
      [
        10,
        async () => {
          // mostly same-domain pairs of live entities (a cross-domain or dead pair is refused)
          const ch = rand() < 0.8 ? pick(channels.filter((c) => c.exists).concat(channels.slice(-1))) : pick(channels);
          const sameDomain = clients.filter((c) => c.domain === ch.domain && c.exists);
          const cl = rand() < 0.85 && sameDomain.length > 0 ? pick(sameDomain) : pick(clients);
          const types = typesOf();
          const r = await svc.api("POST", `/${ch.domain}/channels/connect`, { channel_ids: [ch.id], client_ids: [cl.id], types });
          if (r.status === 201) for (const t of types) conns.add(key(ch.id, cl.id, typeNum(t)));
          tally(`connect ${r.status}`);
        },
      ],
      [
        6,
        async () => {
          const cl = pick(clients);
          const ch = pick(channels);
          const types = typesOf();
          const r = await svc.api("POST", `/${ch.domain}/channels/disconnect`, { channel_ids: [ch.id], client_ids: [cl.id], types });
          if (r.status === 204) for (const t of types) conns.delete(key(ch.id, cl.id, typeNum(t)));
          tally(`disconnect ${r.status}`);
        },
      ],
      [
        4,
        async () => {
          const cl = pick(clients);
          const want = cl.enabled ? "disable" : "enable";
          const r = await svc.api("POST", `/${cl.domain}/clients/${cl.id}/${want}`);
          if (r.status === 200) cl.enabled = !cl.enabled;
          tally(`client ${want} ${r.status}`);
        },
      ],
      [
        3,
        async () => {
          const ch = pick(channels);
          const want = ch.enabled ? "disable" : "enable";
          const r = await svc.api("POST", `/${ch.domain}/channels/${ch.id}/${want}`);
          if (r.status === 200) ch.enabled = !ch.enabled;
          tally(`channel ${want} ${r.status}`);
        },
      ],
      [
        4,
        async () => {
          const cl = pick(clients);
          const secret = newSecret();
          const r = await svc.api("PATCH", `/${cl.domain}/clients/${cl.id}/secret`, { secret });
          if (r.status === 200) {
            cl.secret = secret;
            cl.secrets.push(secret);
          }
          tally(`secret ${r.status}`);
        },
      ],
      [
        1,
        async () => {
          const cl = pick(clients);
          const r = await svc.api("DELETE", `/${cl.domain}/clients/${cl.id}`);
          if (r.status === 204) {
            cl.exists = false;
            for (const k of [...conns]) if (k.split("|")[1] === cl.id) conns.delete(k);
          }
          tally(`delete client ${r.status}`);
        },
      ],
      [
        1,
        async () => {
          const ch = pick(channels);
          const r = await svc.api("DELETE", `/${ch.domain}/channels/${ch.id}`);
          if (r.status === 204) {
            ch.exists = false;
            for (const k of [...conns]) if (k.split("|")[0] === ch.id) conns.delete(k);
          }
          tally(`delete channel ${r.status}`);
        },
      ],
    ];
    const totalWeight = mutations.reduce((s, [w]) => s + w, 0);
    const mutate = () => {
      let r = rand() * totalWeight;
      for (const [w, fn] of mutations) if ((r -= w) < 0) return fn();
      return mutations[0]![1]();
    };

    async function checkAuthn(step: number) {
      const cl = pick(clients);
      const secret = rand() < 0.7 ? cl.secret : pick(cl.secrets);
      const domainForm = rand() < 0.3;
      const r = await call(g.clients, "Authenticate", { token: domainForm ? domainToken(cl.domain, secret) : basic(cl.id, secret) });
      const truth = cl.exists && cl.enabled && secret === cl.secret;
      const got = r.code === grpc.status.OK && r.value.id === cl.id;
      if (got !== truth)
        throw new Error(`step ${step} (seed ${SEED}): Authenticate ${domainForm ? "Domain" : "Basic"} of ${cl.id} answered ${r.code}, truth ${truth}`);
      if (!truth) expect(r.code).toBe(grpc.status.PERMISSION_DENIED);
      tally(`authn ${truth}`);
    }
    /** A client, a channel and a type to check: often a pair that is (or was just) connected, where a stale answer would show. */
    function pickCheck(): { cl: ModelClient; ch: ModelChannel; type: number } {
      if (conns.size > 0 && rand() < 0.6) {
        const [chId, clId, t] = pick([...conns]).split("|");
        return { cl: clients.find((c) => c.id === clId)!, ch: channels.find((c) => c.id === chId)!, type: Number(t) };
      }
      return { cl: pick(clients), ch: pick(channels), type: rand() < 0.5 ? 1 : 2 };
    }
    async function checkAuthz(step: number) {
      const { cl, ch, type } = pickCheck();
      const r = await call(g.channels, "Authorize", { domain_id: cl.domain, client_id: cl.id, client_type: "client", channel_id: ch.id, type });
      const truth = conns.has(key(ch.id, cl.id, type)) && cl.exists && cl.enabled && ch.exists && ch.enabled && cl.domain === ch.domain;
      const got = r.code === grpc.status.OK;
      if (got !== truth) throw new Error(`step ${step} (seed ${SEED}): Authorize ${cl.id} on ${ch.id} type ${type} answered ${r.code}, truth ${truth}`);
      tally(`authz ${truth}`);
    }

    const hooks = svc.service.hooksUrl!;
    const post = async (path: string, body: string, type = "application/json") =>
      (await fetch(hooks + path, { method: "POST", body, headers: { "content-type": type } })).text();
    async function checkHookAuthn(step: number) {
      const cl = pick(clients);
      const secret = rand() < 0.7 ? cl.secret : pick(cl.secrets);
      const truth = cl.exists && cl.enabled && secret === cl.secret;
      const how = pick(["emqx", "rabbitmq", "fluxmq"]);
      let got: boolean;
      if (how === "emqx") got = JSON.parse(await post("/emqx/authn", JSON.stringify({ username: cl.id, password: secret, clientid: "p" }))).result === "allow";
      else if (how === "rabbitmq")
        got =
          (await post("/rabbitmq/user", new URLSearchParams({ username: cl.id, password: secret }).toString(), "application/x-www-form-urlencoded")) ===
          "allow";
      else
        got = JSON.parse(await post("/fluxmq.auth.v1.AuthService/Authenticate", JSON.stringify({ username: cl.id, password: secret }))).authenticated === true;
      if (got !== truth) throw new Error(`step ${step} (seed ${SEED}): hook ${how} authn of ${cl.id} answered ${got}, truth ${truth}`);
      tally(`hook authn ${truth}`);
    }
    async function checkHookAuthz(step: number) {
      const { cl, ch, type } = pickCheck();
      // By route where it has one (a route names a channel within its domain only).
      const name = ch.route && rand() < 0.7 ? ch.route : ch.id;
      const byRoute = name !== ch.id;
      // The route may name a newer channel of the domain by now: the truth is about that one.
      const target = byRoute ? (channels.find((c) => c.exists && c.route === name && c.domain === cl.domain) ?? ch) : ch;
      const topic = `m/${cl.domain}/c/${name}/x`;
      const action = type === 1 ? "publish" : "subscribe";
      const how = pick(["emqx", "rabbitmq", "fluxmq"]);
      let got: boolean;
      if (how === "emqx") got = JSON.parse(await post("/emqx/authz", JSON.stringify({ username: cl.id, topic, action }))).result === "allow";
      else if (how === "rabbitmq") {
        const f = {
          username: cl.id,
          vhost: "/",
          resource: "topic",
          name: "amq.topic",
          permission: type === 1 ? "write" : "read",
          routing_key: topic.replaceAll("/", "."),
        };
        got = (await post("/rabbitmq/topic", new URLSearchParams(f).toString(), "application/x-www-form-urlencoded")) === "allow";
      } else
        got = JSON.parse(await post("/fluxmq.auth.v1.AuthService/Authorize", JSON.stringify({ externalId: cl.id, topic, action: type }))).authorized === true;
      const truth =
        (!byRoute || target.exists) &&
        conns.has(key(target.id, cl.id, type)) &&
        cl.exists &&
        cl.enabled &&
        target.exists &&
        target.enabled &&
        cl.domain === target.domain;
      if (got !== truth) throw new Error(`step ${step} (seed ${SEED}): hook ${how} ${action} of ${cl.id} on ${topic} answered ${got}, truth ${truth}`);
      tally(`hook authz ${truth}`);
    }

    for (let step = 0; step < STEPS; step++) {
      const r = rand();
      if (r < 0.35) await mutate();
      else if (r < 0.5) await checkAuthn(step);
      else if (r < 0.65) await checkAuthz(step);
      else if (r < 0.8) await checkHookAuthn(step);
      else await checkHookAuthz(step);
    }
    console.log(`property seed ${SEED}:`, JSON.stringify(counts));
    // The run must have exercised both outcomes of both calls, or it proved little.
    for (const k of ["authn true", "authn false", "authz true", "authz false"]) expect(counts[k] ?? 0).toBeGreaterThan(50);
    for (const k of ["hook authn true", "hook authn false", "hook authz true", "hook authz false"]) expect(counts[k] ?? 0).toBeGreaterThan(50);
  }, 120_000);
});
