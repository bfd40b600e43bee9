import { describe, expect, test } from "bun:test";
import { type ConfigError, loadConfig } from "../src/config/config.ts";
import { principalOf } from "../src/hooks/index.ts";
import { bodyFields, queryFields } from "../src/hooks/request.ts";
import { fromRoutingKey, mayBeRoute, parseTopic, sharedFilter, underPrefix } from "../src/hooks/topics.ts";

const D = "7a3c9f0e-2f5d-4b1a-9c3e-1d2f3a4b5c6d";
const C = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";

describe("topic grammar (Magistrala pkg/messaging/topics.go, hooks.md §0)", () => {
  test("channel topics, with and without the leading slash and a subtopic", () => {
    expect(parseTopic(`m/${D}/c/${C}`, "publish")).toEqual({ kind: "channel", domain: D, channel: C, subtopic: "" });
    expect(parseTopic(`/m/${D}/c/${C}`, "publish")).toEqual({ kind: "channel", domain: D, channel: C, subtopic: "" });
    expect(parseTopic(`m/${D}/c/${C}/temp/room-1`, "publish")).toEqual({ kind: "channel", domain: D, channel: C, subtopic: "temp/room-1" });
    expect(parseTopic(`m/${D}/c/kitchen/temp`, "subscribe")).toEqual({ kind: "channel", domain: D, channel: "kitchen", subtopic: "temp" });
    // percent-decoded and trimmed as upstream does
    expect(parseTopic(`m/${D}/c/${C}/a%2Fb/`, "publish")).toMatchObject({ subtopic: "a/b" });
  });

  test("health topics", () => {
    expect(parseTopic(`hc/${D}`, "publish")).toEqual({ kind: "health", domain: D });
    expect(parseTopic(`/hc/${D}`, "subscribe")).toEqual({ kind: "health", domain: D });
  });

  test("publish subtopics: no wildcards, no blanks, no empty levels", () => {
    for (const sub of ["a/+", "#", "a/*", "a>", "a b", "a//b", "a%20b", "a%2Bb", "%zz"])
      expect(parseTopic(`m/${D}/c/${C}/${sub}`, "publish")).toEqual({ kind: "malformed" });
  });

  test("subscribe subtopics: + and # as whole levels only", () => {
    expect(parseTopic(`m/${D}/c/${C}/#`, "subscribe")).toMatchObject({ kind: "channel", subtopic: "#" });
    expect(parseTopic(`m/${D}/c/${C}/+/temp`, "subscribe")).toMatchObject({ kind: "channel", subtopic: "+/temp" });
    for (const sub of ["a+", "a#", "+a/b", "a/*", "a/>", "a b", "a//b"]) expect(parseTopic(`m/${D}/c/${C}/${sub}`, "subscribe")).toEqual({ kind: "malformed" });
  });

  test("no wildcard in the domain or channel position; anything else outside the grammar", () => {
    const bad = [
      "",
      "/",
      "m",
      "m/",
      `m/${D}`,
      `m/${D}/c`,
      `m/${D}/c/`,
      `m//c/${C}`,
      `m/+/c/${C}`,
      `m/#`,
      `m/${D}/c/+`,
      `m/${D}/c/#`,
      `m/${D}/c/*`,
      `m/a/b/c/${C}`,
      `x/${D}/c/${C}`,
      `M/${D}/c/${C}`,
      "hc/",
      "hc",
      `hc/${D}/x`,
      "hc/+",
      "hcx/d",
      "events/magistrala/client/create",
      "#",
      "$SYS/broker",
    ];
    for (const t of bad) {
      expect(parseTopic(t, "publish")).toEqual({ kind: "malformed" });
      expect(parseTopic(t, "subscribe")).toEqual({ kind: "malformed" });
    }
  });

  test("shared subscriptions are authorized on their filter", () => {
    expect(sharedFilter(`$share/g1/m/${D}/c/${C}/#`)).toBe(`m/${D}/c/${C}/#`);
    expect(sharedFilter("$share/g1")).toBe("");
    expect(sharedFilter(`m/${D}/c/${C}`)).toBe(`m/${D}/c/${C}`);
  });

  test("the service principal's prefix", () => {
    expect(underPrefix("events", "events")).toBe(true);
    expect(underPrefix("events", "events/#")).toBe(true);
    expect(underPrefix("events", "events/magistrala/client/create")).toBe(true);
    expect(underPrefix("events", "eventsx/a")).toBe(false);
    expect(underPrefix("events", "#")).toBe(false);
    expect(underPrefix("events", "+/magistrala")).toBe(false);
    expect(underPrefix("events", `m/${D}/c/${C}`)).toBe(false);
  });

  test("RabbitMQ routing keys back to MQTT topics", () => {
    expect(fromRoutingKey(`m.${D}.c.${C}.temp`)).toBe(`m/${D}/c/${C}/temp`);
    expect(fromRoutingKey(`m.${D}.c.${C}.*.#`)).toBe(`m/${D}/c/${C}/+/#`);
    expect(fromRoutingKey(".m.d")).toBe("/m/d");
  });

  test("only what can be a route is looked up as one", () => {
    expect(mayBeRoute("kitchen")).toBe(true);
    expect(mayBeRoute("k-1_b")).toBe(true);
    expect(mayBeRoute(C)).toBe(false);
    expect(mayBeRoute("1abc")).toBe(false);
    expect(mayBeRoute("a.b")).toBe(false);
    expect(mayBeRoute("x".repeat(37))).toBe(false);
  });
});

describe("hooks configuration", () => {
  test("on by default at localhost:9001; an empty port turns it off", () => {
    expect(loadConfig({}).hooks).toEqual({ host: "localhost", port: 9001, tls: undefined, token: undefined });
    expect(loadConfig({ MG_CLIENTS_HOOKS_PORT: "" }).hooks).toBeUndefined();
    expect(loadConfig({ MG_CLIENTS_HOOKS_HOST: "0.0.0.0", MG_CLIENTS_HOOKS_PORT: "0", MG_CLIENTS_HOOKS_TOKEN: "s3cret" }).hooks).toEqual({
      host: "0.0.0.0",
      port: 0,
      tls: undefined,
      token: "s3cret",
    });
  });

  test("bad values are named", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ MG_CLIENTS_HOOKS_PORT: "x" })).toEqual(['MG_CLIENTS_HOOKS_PORT: "x" is not a port number (0-65535)']);
    expect(problems({ MG_CLIENTS_HOOKS_TOKEN: "a b" })).toEqual(["MG_CLIENTS_HOOKS_TOKEN: must not contain whitespace"]);
    expect(problems({ MG_CLIENTS_HOOKS_SERVER_CERT: "/nope.pem" })).toHaveLength(2);
  });

  test("the service principal comes from MG_CLIENTS_ES_URL's user:password, percent-decoded", () => {
    expect(principalOf("mqtt://svc:p%40ss@localhost:1883")).toEqual({ username: "svc", password: "p@ss" });
    expect(principalOf("mqtt://localhost:1883")).toBeUndefined();
    expect(principalOf("mqtt://svc@localhost:1883")).toBeUndefined();
    expect(principalOf("")).toBeUndefined();
  });
});

describe("call-out bodies", () => {
  test("form, JSON and query string alike (told apart by the body, not the header)", () => {
    expect(bodyFields("username=a&password=b%26c")).toEqual({ username: "a", password: "b&c" });
    expect(bodyFields('{"username":"a","acc":2}')).toEqual({ username: "a", acc: 2 });
    expect(bodyFields(' \n{"username":"a"}')).toEqual({ username: "a" });
    expect(bodyFields("")).toEqual({});
    expect(queryFields("http://localhost/x?username=a&vhost=%2F")).toEqual({ username: "a", vhost: "/" });
    expect(queryFields("http://localhost/x")).toEqual({});
  });
  test("what is not an object is refused", () => {
    for (const body of ["[1,2]", "{nope", "null", '"x"', "[", '{"a":1']) expect(bodyFields(body)).toBeUndefined();
  });
});
