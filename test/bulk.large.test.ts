import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queryStore } from "./helpers/backend.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * Bulk creates of more rows than one insert statement takes (src/db/queries/insert.ts: chunks of
 * 500, full chunks of one shape through one statement prepared once, other rows as Drizzle builds
 * them) — on the real database of either backend: every client, its built-in role with all its
 * actions and its member, and its event are written, and a failure in a later chunk writes nothing.
 */
let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ MG_CLIENTS_STANDALONE_ID: "bulk-admin" });
});
afterAll(() => svc.dispose());

const CLIENT_ACTIONS = 9; // contract §5: the client kind's actions, all in its built-in admin role

const count = async (text: string, params: string[]) => Number((await queryStore<{ n: number | string }>(svc.store, text, params))[0]!.n);
const stored = async (domain: string) => ({
  clients: await count("SELECT count(*) AS n FROM clients WHERE domain_id = $1", [domain]),
  roles: await count("SELECT count(*) AS n FROM client_roles WHERE entity_id IN (SELECT id FROM clients WHERE domain_id = $1)", [domain]),
  actions: await count(
    "SELECT count(*) AS n FROM client_role_actions WHERE role_id IN (SELECT r.id FROM client_roles r JOIN clients c ON c.id = r.entity_id WHERE c.domain_id = $1)",
    [domain],
  ),
  members: await count(
    "SELECT count(*) AS n FROM client_role_members WHERE role_id IN (SELECT r.id FROM client_roles r JOIN clients c ON c.id = r.entity_id WHERE c.domain_id = $1)",
    [domain],
  ),
});

/** Items of every shape the body allows, so that rows of one insert differ in their columns. */
function mixed(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => {
    const item: Record<string, unknown> = { name: `${prefix}-${i}` };
    if (i % 3 === 0) item.tags = [`t${i % 4}`, "bulk"];
    if (i % 5 === 0) item.metadata = { i, even: i % 2 === 0 };
    if (i % 7 === 0) item.credentials = { identity: `${prefix}-id-${i}`, secret: `${prefix}-secret-${i}` };
    if (i % 11 === 0) item.private_metadata = { serial: `S${i}` };
    if (i % 13 === 0) item.status = "disabled";
    return item;
  });
}

describe("bulk create above one statement's rows", () => {
  test.each([
    ["one shape", "bulk-same", (n: number) => Array.from({ length: n }, (_, i) => ({ name: `same-${i}` }))],
    ["mixed shapes", "bulk-mixed", (n: number) => mixed(n, "mixed")],
  ] as const)("1,000 clients of %s: every client, role, action, member and event written", async (_, domain, items) => {
    const body = items(1000);
    const r = await svc.api("POST", `/${domain}/clients/bulk`, body);
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(1000);
    expect(r.json.clients.map((c: { name: string }) => c.name)).toEqual(body.map((b) => b.name));
    expect(await stored(domain)).toEqual({ clients: 1000, roles: 1000, actions: 1000 * CLIENT_ACTIONS, members: 1000 });
    const events = await count("SELECT count(*) AS n FROM outbox WHERE payload LIKE $1", [`%"domain":"${domain}"%`]);
    // Published events leave the outbox; none published here (no broker): all 1,000 are still there.
    expect(events).toBe(1000);
    // Each item as it was sent, read back one by one (the last of each chunk and the remainder's).
    for (const i of [0, 1, 5, 7, 13, 499, 500, 501, 999]) {
      const sent = body[i] as Record<string, any>;
      const got = await svc.api("GET", `/${domain}/clients/${r.json.clients[i].id}`);
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({
        name: sent.name,
        ...(sent.tags ? { tags: sent.tags } : {}),
        ...(sent.metadata ? { metadata: sent.metadata } : {}),
        ...(sent.private_metadata ? { private_metadata: sent.private_metadata } : {}),
        credentials: sent.credentials ? { identity: sent.credentials.identity } : {},
        status: sent.status ?? "enabled",
      });
      expect(got.json.tags === undefined).toBe(sent.tags === undefined);
      expect(got.json.metadata === undefined).toBe(sent.metadata === undefined);
    }
  });

  test("a taken secret in the second chunk's remainder creates nothing", async () => {
    const domain = "bulk-fail";
    await svc.api("POST", `/${domain}/clients`, { credentials: { secret: "bulk-large-taken" } });
    const before = await stored(domain);
    const body: Record<string, unknown>[] = Array.from({ length: 700 }, (_, i) => ({ name: `f-${i}` }));
    body[650] = { name: "f-650", credentials: { secret: "bulk-large-taken" } };
    const r = await svc.api("POST", `/${domain}/clients/bulk`, body);
    expect({ status: r.status, body: r.json }).toEqual({ status: 400, body: { message: "client key is not available" } });
    expect(await stored(domain)).toEqual(before);
    // And the same bulk without the clash goes through whole.
    body[650] = { name: "f-650" };
    expect((await svc.api("POST", `/${domain}/clients/bulk`, body)).status).toBe(200);
    expect((await stored(domain)).clients).toBe(before.clients + 700);
  });
});
