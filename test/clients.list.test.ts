import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestService, type TestService } from "./helpers/service.ts";

let svc: TestService;
const D = "listdom";
const created: Record<string, any> = {};

const list = async (query = "") => {
  const r = await svc.api("GET", `/${D}/clients${query ? `?${query}` : ""}`);
  return r;
};
const names = (r: { json: any }) => (r.json.clients ?? []).map((c: any) => c.name);
const expectError = (r: { status: number; json: any }, message: string) => expect({ s: r.status, b: r.json }).toEqual({ s: 400, b: { message } });

beforeAll(async () => {
  svc = await startTestService();
  const specs = [
    { name: "Alpha", tags: ["red", "big"], metadata: { model: "x1", loc: { floor: 1, room: "a" }, ports: [1, 2, { kind: "usb" }], on: true } },
    { name: "beta", tags: ["red"], metadata: { model: "x2", loc: { floor: 2 } }, parent_group_id: "g1" },
    { name: "Gamma", tags: ["blue", "big"], metadata: { model: "x1", n: 1.5, nothing: null } },
    { name: "delta", tags: [], metadata: {}, parent_group_id: "g2" },
    { name: "epsilon-off", status: "disabled", tags: ["red"] },
  ];
  for (const s of specs) {
    const r = await svc.api("POST", `/${D}/clients`, s);
    created[s.name] = r.json;
    await Bun.sleep(3); // distinct created_at values
  }
  // the last update moves beta to the front of the default order (updated_at desc)
  await svc.api("PATCH", `/${D}/clients/${created.beta.id}`, { name: "beta" });
});
afterAll(() => svc.dispose());

describe("list defaults and the envelope", () => {
  test("defaults: limit 10, offset omitted, enabled only, most recently updated first", async () => {
    const r = await list();
    expect(r.status).toBe(200);
    expect(r.json.limit).toBe(10);
    expect("offset" in r.json).toBe(false);
    expect(r.json.total).toBe(4);
    expect(names(r)).toEqual(["beta", "delta", "Gamma", "Alpha"]);
  });

  test("list items carry no secret and no private metadata; parent_group_path when a parent is set", async () => {
    const r = await list("name=beta");
    const item = r.json.clients[0];
    expect(item.credentials).toEqual({});
    expect(item.private_metadata).toBeUndefined();
    expect(item.parent_group_path).toBe("g1");
    expect((await list("name=Alpha")).json.clients[0].parent_group_path).toBeUndefined();
  });

  test("an empty page omits the items key", async () => {
    const r = await list("name=nobody");
    expect(r.json).toEqual({ limit: 10, total: 0 });
  });

  test("limit and offset page through; total ignores them", async () => {
    const r = await list("limit=2&offset=1");
    expect(r.json.limit).toBe(2);
    expect(r.json.offset).toBe(1);
    expect(r.json.total).toBe(4);
    expect(names(r)).toEqual(["delta", "Gamma"]);
    const beyond = await list("offset=50");
    expect(beyond.json).toEqual({ limit: 10, offset: 50, total: 4 });
  });

  test("only_total returns no items", async () => {
    for (const v of ["true", "1", "t"]) expect((await list(`only_total=${v}`)).json).toEqual({ limit: 10, total: 4 });
    expect(names(await list("only_total=false"))).toHaveLength(4);
  });
});

describe("order and direction", () => {
  test("by name asc/desc", async () => {
    expect(names(await list("order=name&dir=asc"))).toEqual(["Alpha", "Gamma", "beta", "delta"]);
    expect(names(await list("order=name&dir=desc"))).toEqual(["delta", "beta", "Gamma", "Alpha"]);
  });

  test("by created_at", async () => {
    expect(names(await list("order=created_at&dir=asc"))).toEqual(["Alpha", "beta", "Gamma", "delta"]);
    expect(names(await list("order=created_at"))).toEqual(["delta", "Gamma", "beta", "Alpha"]);
  });

  test("explicitly empty order and dir take the defaults", async () => {
    expect(names(await list("order=&dir="))).toEqual(["beta", "delta", "Gamma", "Alpha"]);
  });

  test("ties are broken by id in the same direction", async () => {
    const same = await svc.api("POST", "/tiedom/clients/bulk", [{ name: "same" }, { name: "same" }, { name: "same" }]);
    const ids = same.json.clients.map((c: any) => c.id).sort();
    const asc = await svc.api("GET", "/tiedom/clients?order=name&dir=asc");
    expect(asc.json.clients.map((c: any) => c.id)).toEqual(ids);
    const desc = await svc.api("GET", "/tiedom/clients?order=created_at&dir=desc");
    expect(desc.json.clients.map((c: any) => c.id)).toEqual([...ids].reverse());
  });
});

describe("filters", () => {
  test("status", async () => {
    expect(names(await list("status=disabled"))).toEqual(["epsilon-off"]);
    expect((await list("status=all")).json.total).toBe(5);
    expect((await list("status=enabled")).json.total).toBe(4);
    expect((await list("status=")).json.total).toBe(4);
    expect((await list("status=deleted")).json.total).toBe(0);
  });

  test("name is a case-insensitive substring", async () => {
    expect(names(await list("name=ALP"))).toEqual(["Alpha"]);
    expect(names(await list("name=ta&order=name&dir=asc"))).toEqual(["beta", "delta"]);
    expect((await list("name=%25")).json.total).toBe(0); // a literal %, not a wildcard
  });

  test("tags: comma is any, plus is all", async () => {
    expect(names(await list("tags=blue,red&order=name&dir=asc"))).toEqual(["Alpha", "Gamma", "beta"]);
    expect(names(await list("tags=red%2Bbig"))).toEqual(["Alpha"]);
    expect(names(await list("tags=big&order=name&dir=asc"))).toEqual(["Alpha", "Gamma"]);
    expect((await list("tags=none")).json.total).toBe(0);
  });

  test("metadata is JSON containment", async () => {
    const m = (o: unknown) => list(`order=name&dir=asc&metadata=${encodeURIComponent(JSON.stringify(o))}`);
    expect(names(await m({ model: "x1" }))).toEqual(["Alpha", "Gamma"]);
    expect(names(await m({ loc: { floor: 2 } }))).toEqual(["beta"]);
    expect(names(await m({ loc: {} }))).toEqual(["Alpha", "beta"]);
    expect(names(await m({ ports: [2] }))).toEqual(["Alpha"]);
    expect(names(await m({ ports: [{ kind: "usb" }, 1] }))).toEqual(["Alpha"]);
    expect(names(await m({ ports: [3] }))).toEqual([]);
    expect(names(await m({ on: true }))).toEqual(["Alpha"]);
    expect(names(await m({ on: "true" }))).toEqual([]);
    expect(names(await m({ n: 1.5 }))).toEqual(["Gamma"]);
    expect(names(await m({ nothing: null }))).toEqual(["Gamma"]);
    expect(names(await m({ model: "x1", loc: { room: "a" } }))).toEqual(["Alpha"]);
    expect(names(await m({}))).toHaveLength(4);
  });

  test("id is an exact match", async () => {
    expect(names(await list(`id=${created.Gamma.id}`))).toEqual(["Gamma"]);
    expect((await list(`id=${created.Gamma.id.slice(0, 8)}`)).json.total).toBe(0);
  });

  test("created_from and created_to are inclusive RFC 3339 bounds", async () => {
    const at = created.beta.created_at;
    expect(names(await list(`order=created_at&dir=asc&created_from=${at}`))).toEqual(["beta", "Gamma", "delta"]);
    expect(names(await list(`order=created_at&dir=asc&created_to=${at}`))).toEqual(["Alpha", "beta"]);
    expect(names(await list(`created_from=${at}&created_to=${at}`))).toEqual(["beta"]);
    expect((await list("created_from=2999-01-01T00:00:00%2B02:00")).json.total).toBe(0);
  });

  test("group: a parent id, or empty for no parent", async () => {
    expect(names(await list("group=g1"))).toEqual(["beta"]);
    expect(names(await list("group=&order=name&dir=asc"))).toEqual(["Alpha", "Gamma"]);
  });

  test("filters combine", async () => {
    expect(names(await list("tags=red&status=all&order=name&dir=asc"))).toEqual(["Alpha", "beta", "epsilon-off"]);
    expect(names(await list("tags=red&name=a&status=disabled"))).toEqual([]);
  });
});

describe("list errors", () => {
  test("limit bounds", async () => {
    for (const l of ["0", "101", "1000"]) expectError(await list(`limit=${l}`), "invalid limit size");
    expect((await list("limit=100")).status).toBe(200);
    expect((await list("limit=1")).json.clients).toHaveLength(1);
  });

  test("malformed numbers and booleans", async () => {
    for (const q of ["limit=abc", "limit=-1", "limit=", "limit=1.5", "offset=x", "offset=-1", "only_total=maybe"]) {
      expectError(await list(q), "invalid query parameters");
    }
  });

  test("a parameter given twice", async () => {
    for (const q of ["limit=1&limit=2", "name=a&name=b", "status=all&status=all", "tags=a&tags=b", "metadata={}&metadata={}"]) {
      expectError(await list(q), "invalid query parameters");
    }
  });

  test("order, dir, status and name size", async () => {
    expectError(await list("order=id"), "invalid list order provided");
    expectError(await list("dir=up"), "invalid list direction provided");
    expectError(await list("status=gone"), "invalid status");
    expectError(await list(`name=${"n".repeat(1025)}`), "invalid name size");
  });

  test("metadata that is not a JSON object, and bad times", async () => {
    for (const v of ["[1]", "5", "nope", '"s"']) expectError(await list(`metadata=${encodeURIComponent(v)}`), "invalid query parameters");
    for (const v of ["yesterday", "2024-01-01", "2024-02-30T00:00:00Z"]) {
      expectError(await list(`created_from=${v}`), "invalid query parameters");
      expectError(await list(`created_to=${v}`), "invalid query parameters");
    }
  });

  test("decoding errors win over validation errors", async () => {
    expectError(await list("limit=1000&offset=x"), "invalid query parameters");
    expectError(await list("limit=1000&status=x"), "invalid status");
  });

  test("view: roles must be a boolean", async () => {
    expectError(await svc.api("GET", `/${D}/clients/${created.Alpha.id}?roles=maybe`), "invalid query parameters");
    expect((await svc.api("GET", `/${D}/clients/${created.Alpha.id}?roles=false`)).status).toBe(200);
  });
});
