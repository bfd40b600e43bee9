import { describe, expect, test } from "bun:test";
import { type Resource, Resources } from "../src/wiring/resources.ts";

/** The start/stop list of src/main.ts (src/wiring/resources.ts), with resources that log what happens. */
const log: string[] = [];
const resource = (name: string, opts: { group?: string; failStart?: boolean; failStop?: boolean; slowStopMs?: number } = {}): Resource<string> => ({
  name,
  group: opts.group,
  start() {
    if (opts.failStart) throw new Error(`${name} cannot start`);
    log.push(`start ${name}`);
    return name;
  },
  async stop({ graceful }) {
    log.push(`stop ${name}${graceful ? "" : " at once"}`);
    if (opts.slowStopMs) await Bun.sleep(opts.slowStopMs);
    log.push(`stopped ${name}`);
    if (opts.failStop) throw new Error(`${name} cannot stop`);
  },
});

describe("Resources", () => {
  test("start in order, stop in reverse; a group stops together at its newest member's turn", async () => {
    log.length = 0;
    const r = new Resources();
    expect(await r.start(resource("db"))).toBe("db");
    await r.start(resource("hooks", { group: "listeners", slowStopMs: 20 }));
    await r.start(resource("publisher"));
    await r.start(resource("http", { group: "listeners", slowStopMs: 20 }));
    await r.start(resource("grpc", { group: "listeners", slowStopMs: 20 }));
    log.length = 0;
    await r.stopAll({ graceful: true });
    // the three listeners begin stopping before any of them has finished; the publisher waits for all three
    expect(log.slice(0, 3).sort()).toEqual(["stop grpc", "stop hooks", "stop http"]);
    expect(log.slice(3, 6).sort()).toEqual(["stopped grpc", "stopped hooks", "stopped http"]);
    expect(log.slice(6)).toEqual(["stop publisher", "stopped publisher", "stop db", "stopped db"]);
  });

  test("a failed start unwinds what had started, at once; a failing stop does not keep the others from stopping", async () => {
    log.length = 0;
    const r = new Resources();
    await r.start(resource("db"));
    await r.start(resource("publisher", { failStop: true }));
    await expect(r.start(resource("http", { failStart: true }))).rejects.toThrow("http cannot start");
    await expect(r.stopAll({ graceful: false })).rejects.toThrow("publisher cannot stop");
    expect(log).toEqual(["start db", "start publisher", "stop publisher at once", "stopped publisher", "stop db at once", "stopped db"]);
    // nothing is stopped twice
    await r.stopAll({ graceful: true });
    expect(log).toHaveLength(6);
  });
});
