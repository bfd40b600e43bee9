import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AccessCache, applyInvalidation } from "../src/cache/access-cache.ts";
import { ConfigError, loadConfig } from "../src/config/config.ts";
import { parseDuration } from "../src/config/duration.ts";
import { encodePayload } from "../src/db/outbox-append.ts";
import { describeTarget, type PgSettings, sslCandidates } from "../src/db/postgres/connect.ts";
import { statisticsSchedule } from "../src/db/statistics.ts";
import { connectionInvalidations, invalidation } from "../src/domain/invalidation.ts";
import { formatTime, nowMicros, parseTime } from "../src/domain/time.ts";
import { firstJsonValue } from "../src/http/body.ts";
import { tempDir } from "./helpers/service.ts";

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
};

describe("configuration", () => {
  test("defaults match DESIGN.md", () => {
    const c = loadConfig({});
    expect(c.logLevel).toBe("info");
    expect(c.http).toEqual({ host: "localhost", port: 9000, tls: undefined, maxBodyBytes: 1 << 20 });
    expect(c.grpc).toEqual({ host: "localhost", port: 7000, tls: undefined });
    expect(c.db.driver).toBe("sqlite");
    expect(c.db.path.endsWith("/data/clients.db")).toBe(true);
    expect(c.db.pg).toMatchObject({ host: "localhost", port: 5432, user: "magistrala", pass: "magistrala", name: "clients", sslMode: "disable" });
    expect(c.cache.ttlMs).toBe(3_600_000);
    expect(c.events).toMatchObject({ url: "mqtt://localhost:1883", topicPrefix: "events" });
    expect(c.standalone).toEqual({ id: undefined, token: undefined });
  });

  test("each bad value is named with what is wrong", () => {
    expect(problems({ MG_CLIENTS_HTTP_PORT: "abc" })).toEqual(['MG_CLIENTS_HTTP_PORT: "abc" is not a port number (0-65535)']);
    expect(problems({ MG_CLIENTS_GRPC_PORT: "70000" })).toEqual(['MG_CLIENTS_GRPC_PORT: "70000" is not a port number (0-65535)']);
    expect(problems({ MG_CLIENTS_DB_DRIVER: "mysql" })).toEqual(['MG_CLIENTS_DB_DRIVER: "mysql" is not one of sqlite, postgres']);
    expect(problems({ MG_CLIENTS_LOG_LEVEL: "loud" })).toEqual(['MG_CLIENTS_LOG_LEVEL: "loud" is not one of debug, info, warn, error']);
    expect(problems({ MG_CLIENTS_DB_SSL_MODE: "maybe" })[0]).toStartWith("MG_CLIENTS_DB_SSL_MODE:");
    expect(problems({ MG_CLIENTS_CACHE_KEY_DURATION: "forever" })[0]).toStartWith('MG_CLIENTS_CACHE_KEY_DURATION: "forever" is not a duration');
    expect(problems({ MG_CLIENTS_SERVER_CERT: "/nope.pem" })).toEqual([
      'MG_CLIENTS_SERVER_CERT: file "/nope.pem" does not exist',
      "MG_CLIENTS_SERVER_KEY: must be set together with MG_CLIENTS_SERVER_CERT",
    ]);
    expect(problems({ MG_CLIENTS_ES_URL: "http://broker" })[0]).toStartWith("MG_CLIENTS_ES_URL:");
    expect(problems({ MG_CLIENTS_ES_TOPIC_PREFIX: "ev/#" })[0]).toStartWith("MG_CLIENTS_ES_TOPIC_PREFIX:");
    expect(problems({ MG_CLIENTS_GRPC_CA_CERTS: "/nope-ca.pem" })).toHaveLength(2);
  });

  test("every problem is reported at once", () => {
    expect(problems({ MG_CLIENTS_HTTP_PORT: "x", MG_CLIENTS_GRPC_PORT: "y", MG_CLIENTS_LOG_LEVEL: "z" })).toHaveLength(3);
  });

  test("an ES URL's password never appears in the error", () => {
    const p = problems({ MG_CLIENTS_ES_URL: "amqp://user:hunter2@host" });
    expect(p[0]).not.toContain("hunter2");
  });

  test("existing certificate files and empty ES URL are accepted", () => {
    const dir = tempDir();
    const cert = join(dir, "c.pem");
    const key = join(dir, "k.pem");
    writeFileSync(cert, "x");
    writeFileSync(key, "x");
    const c = loadConfig({ MG_CLIENTS_SERVER_CERT: cert, MG_CLIENTS_SERVER_KEY: key, MG_CLIENTS_ES_URL: "" });
    expect(c.http.tls).toEqual({ cert, key });
    expect(c.events.url).toBe("");
  });

  test("Go-style durations and plain seconds", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("3600")).toBe(3_600_000);
    expect(parseDuration("0")).toBe(0);
    for (const bad of ["forever", "", "1d", "-5s", "h1", "1 h"]) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe("times", () => {
  test("formatting trims the fraction like Go's RFC3339Nano; never-set is the zero time", () => {
    expect(formatTime(Date.UTC(2024, 4, 1, 10, 0, 0, 123) * 1000 + 456)).toBe("2024-05-01T10:00:00.123456Z");
    expect(formatTime(Date.UTC(2024, 4, 1, 10, 0, 0, 120) * 1000)).toBe("2024-05-01T10:00:00.12Z");
    expect(formatTime(Date.UTC(2024, 4, 1, 10, 0, 0) * 1000)).toBe("2024-05-01T10:00:00Z");
    expect(formatTime(Date.UTC(2024, 4, 1, 10, 0, 0) * 1000 + 1)).toBe("2024-05-01T10:00:00.000001Z");
    expect(formatTime(Date.UTC(2024, 4, 1, 10, 0, 0) * 1000 + 100_000)).toBe("2024-05-01T10:00:00.1Z");
    expect(formatTime(Date.UTC(2024, 4, 1, 10, 0, 0) * 1000 + 40_500)).toBe("2024-05-01T10:00:00.0405Z");
    expect(formatTime(Date.UTC(1969, 11, 31, 23, 59, 59) * 1000 + 999_999)).toBe("1969-12-31T23:59:59.999999Z");
    expect(formatTime(null)).toBe("0001-01-01T00:00:00Z");
  });

  test("parsing RFC 3339 with zones and fractions", () => {
    expect(parseTime("2024-05-01T10:00:00.123456Z")).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 123) * 1000 + 456);
    expect(parseTime("2024-05-01T12:00:00+02:00")).toBe(Date.UTC(2024, 4, 1, 10) * 1000);
    for (const bad of ["2024-05-01", "2024-05-01 10:00:00Z", "2024-02-30T00:00:00Z", "yesterday"]) expect(parseTime(bad)).toBeUndefined();
  });
});

describe("request bodies", () => {
  test("only the first JSON value is read", () => {
    expect(firstJsonValue('{"a":1} trailing')).toEqual({ a: 1 });
    expect(firstJsonValue('[1,"]"] {x')).toEqual([1, "]"]);
    expect(firstJsonValue('{"s":"}\\"{"}{')).toEqual({ s: '}"{' });
    expect(firstJsonValue("null")).toBeNull();
    expect(firstJsonValue("12 34")).toBe(12);
    for (const bad of ["", " ", "{", "nope", "{'a':1}"]) expect(() => firstJsonValue(bad)).toThrow("request body is not a valid JSON");
  });
});

describe("event payloads", () => {
  test("occurred_at is exact integer nanoseconds", () => {
    const text = encodePayload({ operation: "client.create", id: "x" }, 1_795_822_026_123_456);
    expect(text).toBe('{"operation":"client.create","id":"x","occurred_at":1795822026123456000}');
  });
});

describe("key files", () => {
  test("processes creating the same key file at once all end up with one value", async () => {
    const dir = tempDir();
    const path = join(dir, "installation.key");
    const code = `const { readOrCreateSecretFile } = await import(${JSON.stringify(join(import.meta.dir, "../src/auth/keyfile.ts"))});
      console.log(readOrCreateSecretFile(${JSON.stringify(path)}, () => crypto.randomUUID()).value);`;
    const outs = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const p = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe" });
        const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
        expect(err).toBe("");
        return out.trim();
      }),
    );
    expect(new Set(outs).size).toBe(1);
    expect(readFileSync(path, "utf8").trim()).toBe(outs[0]!);
    expect(readdirSync(dir)).toEqual(["installation.key"]); // no temporary file left
  });
});

describe("Postgres connection settings", () => {
  const pg = (over: Partial<PgSettings>): PgSettings => ({ ...loadConfig({}).db.pg, host: "db.example", ...over });
  const read = (p: string) => `<${p}>`;

  test("each MG_CLIENTS_DB_SSL_MODE maps to the TLS attempts libpq would make", () => {
    expect(sslCandidates(pg({ sslMode: "disable" }), read)).toEqual([false]);
    const [plain, tls] = sslCandidates(pg({ sslMode: "allow" }), read) as [false, Record<string, unknown>];
    expect(plain).toBe(false);
    expect(tls).toMatchObject({ rejectUnauthorized: false, servername: "db.example" });
    expect(sslCandidates(pg({ sslMode: "prefer" }), read).map((c) => c !== false)).toEqual([true, false]);
    expect(sslCandidates(pg({ sslMode: "require" }), read)).toEqual([{ rejectUnauthorized: false, servername: "db.example" }]);
    // require with a root certificate verifies the chain, as libpq does.
    const [requireCa] = sslCandidates(pg({ sslMode: "require", sslRootCert: "/ca.pem" }), read) as [Record<string, unknown>];
    expect(requireCa).toMatchObject({ ca: "</ca.pem>", rejectUnauthorized: true });
    expect((requireCa.checkServerIdentity as () => unknown)()).toBeUndefined();
    const [verifyCa] = sslCandidates(pg({ sslMode: "verify-ca", sslRootCert: "/ca.pem", sslCert: "/c.pem", sslKey: "/k.pem" }), read) as [
      Record<string, unknown>,
    ];
    expect(verifyCa).toMatchObject({ ca: "</ca.pem>", cert: "</c.pem>", key: "</k.pem>", rejectUnauthorized: true });
    const [full] = sslCandidates(pg({ sslMode: "verify-full", sslRootCert: "/ca.pem", host: "10.0.0.5" }), read) as [Record<string, unknown>];
    expect(full).toEqual({ ca: "</ca.pem>", rejectUnauthorized: true, servername: undefined });
  });

  test("the target as logs and messages name it: no password, IPv6 in brackets", () => {
    expect(describeTarget(pg({ user: "mg", pass: "secret-pass", name: "clients", sslMode: "require" }))).toBe(
      "postgres://mg@db.example:5432/clients?sslmode=require",
    );
    expect(describeTarget(pg({ host: "::1" }))).toBe("postgres://magistrala@[::1]:5432/clients?sslmode=disable");
  });
});

describe("the access cache", () => {
  test("while the bus is not coherent it neither answers nor remembers", () => {
    let incoherent = false;
    const cache = new AccessCache({ ttlMs: 60_000, maxEntries: 10, bypass: () => incoherent });
    cache.rememberAuthenticated("k", "client-1", cache.epoch);
    expect(cache.authenticated("k")).toBe("client-1");
    incoherent = true;
    expect(cache.authenticated("k")).toBeUndefined();
    cache.rememberAuthenticated("k2", "client-2", cache.epoch);
    incoherent = false;
    expect(cache.authenticated("k2")).toBeUndefined();
  });

  test("an answer looked up before an invalidation of what it depends on is not stored after it", () => {
    const cache = new AccessCache({ ttlMs: 60_000, maxEntries: 10 });
    let epoch = cache.epoch;
    cache.invalidateClient("client-1");
    cache.rememberAuthenticated("k", "client-1", epoch);
    expect(cache.authenticated("k")).toBeUndefined();
    const authz = (c: string, ch: string) => `c\u0000d\u0000${c}\u0000${ch}\u00001`;
    for (const change of [
      () => cache.invalidateClient("a"),
      () => cache.invalidateChannel("x"),
      () => cache.invalidateConnection("d", "a", "x", 1),
      () => cache.clear(),
    ]) {
      epoch = cache.epoch;
      change();
      cache.rememberAuthorized(authz("a", "x"), true, "a", "x", epoch);
      expect(cache.authorized(authz("a", "x"))).toBeUndefined();
    }
  });

  test("unrelated invalidations during a lookup do not keep its answer out (item 11)", () => {
    const cache = new AccessCache({ ttlMs: 60_000, maxEntries: 10 });
    const epoch = cache.epoch;
    cache.invalidateClient("someone-else");
    cache.invalidateChannel("another-channel");
    cache.invalidateConnection("d", "b", "x", 1);
    cache.invalidateConnection("d", "a", "x", 2);
    cache.rememberAuthenticated("k", "client-1", epoch);
    expect(cache.authenticated("k")).toBe("client-1");
    const key = "c\u0000d\u0000a\u0000x\u00001";
    cache.rememberAuthorized(key, true, "a", "x", epoch);
    expect(cache.authorized(key)).toBe(true);
  });

  test("past 10,000 remembered invalidations, lookups begun before the reset are not stored", () => {
    const cache = new AccessCache({ ttlMs: 60_000, maxEntries: 10 });
    const epoch = cache.epoch;
    cache.invalidateClient("client-1");
    for (let i = 0; i < 10_000; i++) cache.invalidateClient(`other-${i}`);
    cache.rememberAuthenticated("k", "client-1", epoch);
    expect(cache.authenticated("k")).toBeUndefined();
    const later = cache.epoch;
    cache.invalidateClient("other-x");
    cache.rememberAuthenticated("k", "client-1", later);
    expect(cache.authenticated("k")).toBe("client-1");
  });

  test("bus messages invalidate exactly their entries; many tuples of one channel drop the channel", () => {
    const cache = new AccessCache({ ttlMs: 60_000, maxEntries: 100 });
    const key = (c: string, ch: string, t: number) => `c\u0000d\u0000${c}\u0000${ch}\u0000${t}`;
    for (const [c, ch, t] of [
      ["a", "x", 1],
      ["a", "x", 2],
      ["b", "y", 1],
    ] as const)
      cache.rememberAuthorized(key(c, ch, t), true, c, ch, cache.epoch);
    applyInvalidation(cache, invalidation.connection("d", "a", "x", 1));
    expect([cache.authorized(key("a", "x", 1)), cache.authorized(key("a", "x", 2)), cache.authorized(key("b", "y", 1))]).toEqual([undefined, true, true]);
    applyInvalidation(cache, invalidation.channel("y"));
    expect(cache.authorized(key("b", "y", 1))).toBeUndefined();
    applyInvalidation(cache, "*");
    expect(cache.authorized(key("a", "x", 2))).toBeUndefined();
    const many = Array.from({ length: 65 }, (_, i) => ({ domainId: "d", clientId: `c${i}`, channelId: "big", type: 1 }));
    expect(connectionInvalidations(many)).toEqual([invalidation.channel("big")]);
    expect(connectionInvalidations(many.slice(0, 2))).toHaveLength(2);
  });
});

describe("the service clock", () => {
  test("nowMicros is strictly increasing within the process and follows the wall clock", () => {
    const before = Date.now() * 1000;
    const times = Array.from({ length: 5000 }, () => nowMicros());
    const after = Date.now() * 1000;
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    // Never behind the wall clock; 5,000 calls drift it at most 5 ms ahead (bounds that a pause of a
    // loaded machine between two readings cannot break).
    expect(times[0]!).toBeGreaterThanOrEqual(before);
    expect(times.at(-1)!).toBeLessThanOrEqual(after + 5000 + 5000);
  });
});

describe("the planner-statistics schedule", () => {
  const timing = { minMs: 100, everyMs: 400, afterTransactions: 5 };
  test("a burst is refreshed once, min after the last refresh, by the timer when no write follows", async () => {
    let runs = 0;
    const s = statisticsSchedule(() => void runs++, undefined, timing);
    s.committed(5); // due at creation + 100 ms
    s.committed(3);
    expect(runs).toBe(0);
    await Bun.sleep(300);
    expect(runs).toBe(1);
    await Bun.sleep(300);
    expect(runs).toBe(1); // nothing committed since
    await s.close();
  });

  test("a few writes wait for `everyMs`; never while busy, then at the owner's check()", async () => {
    let runs = 0;
    let busy = false;
    const s = statisticsSchedule(
      () => void runs++,
      () => busy,
      timing,
    );
    s.committed(1);
    await Bun.sleep(150);
    expect(runs).toBe(0); // fewer than afterTransactions: not before everyMs
    busy = true;
    await Bun.sleep(450);
    expect(runs).toBe(0); // due, but busy
    busy = false;
    s.check();
    expect(runs).toBe(1);
    await s.close();
  });

  test("after close nothing runs; close waits for a running refresh", async () => {
    let finished = false;
    const s = statisticsSchedule(() => Bun.sleep(50).then(() => void (finished = true)), undefined, { ...timing, minMs: 0 });
    s.committed(5);
    await s.close();
    expect(finished).toBe(true);
    let runs = 0;
    const t = statisticsSchedule(() => void runs++, undefined, timing);
    t.committed(5);
    await t.close();
    await Bun.sleep(300);
    expect(runs).toBe(0);
  });
});
