import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { dbEnv } from "./helpers/backend.ts";
import { eventually, TestBroker } from "./helpers/broker.ts";
import { type ServiceProcess, spawnService } from "./helpers/process.ts";
import { request, tempDir } from "./helpers/service.ts";

const dir = tempDir();
const running: ServiceProcess[] = [];
let broker: TestBroker | undefined;
afterAll(async () => {
  for (const p of running) if (p.proc.exitCode === null) await p.kill("SIGKILL");
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("events survive a crash", () => {
  test("killed with SIGKILL right after a write (its event sent, never acknowledged), the service delivers that event after restart", async () => {
    broker = await TestBroker.start();
    // The broker takes the PUBLISH but never acknowledges it, so the event is certainly still
    // undelivered when the process dies.
    broker.holdPublishes = true;
    const env = { ...(await dbEnv(dir)), MG_CLIENTS_STANDALONE_TOKEN: "tok-kill", MG_CLIENTS_ES_URL: broker.url };
    const first = await spawnService(env);
    running.push(first);
    await first.waitForLine((l) => l.includes('"connected to the event broker"'));
    const created = await request(first.url, "POST", "/crash/clients", { name: "written-then-killed" }, { authorization: "Bearer tok-kill" });
    expect(created.status).toBe(201);
    const requestId = created.headers.get("x-request-id")!;
    await eventually(() => broker!.attempts.some((a) => a.topic === "events/magistrala/client/create"), 5000, "the publish attempt");
    expect(await first.kill("SIGKILL")).not.toBe(0);
    expect(broker.received.filter((m) => m.topic.startsWith("events/"))).toHaveLength(0);

    // A fresh broker that acknowledges; the restarted service resumes from its outbox.
    await broker.stop();
    broker.holdPublishes = false;
    await broker.start();
    const second = await spawnService(env);
    running.push(second);
    await broker.waitUntil(() => broker!.received.some((m) => m.json?.request_id === requestId), 10_000, "the event of the killed write");
    const event = broker.received.find((m) => m.json?.request_id === requestId)!;
    expect(event.topic).toBe("events/magistrala/client/create");
    expect(event.json).toMatchObject({ operation: "client.create", id: created.json.id, name: "written-then-killed", domain: "crash" });
    expect(await second.kill("SIGTERM")).toBe(0);
    expect(await second.stderr()).toBe("");
  });
});
