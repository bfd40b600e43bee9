import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import { connectAsync, type MqttClient } from "mqtt";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * Against the machine's real Mosquitto (127.0.0.1:1883), as an operator would watch it. Other test
 * runs on this machine publish to the same topics, so this one recognises its events by a domain
 * unique to the run. Without Mosquitto the test is skipped loudly, except under CI, where it must run.
 */

const HOST = "127.0.0.1";
const PORT = 1883;
const CI = (process.env.CI ?? "") !== "" && process.env.CI !== "false" && process.env.CI !== "0";

const reachable = await new Promise<boolean>((resolve) => {
  const s = tcpConnect({ host: HOST, port: PORT });
  const done = (ok: boolean) => {
    s.destroy();
    resolve(ok);
  };
  s.setTimeout(1000, () => done(false));
  s.once("connect", () => done(true));
  s.once("error", () => done(false));
});
if (!reachable && !CI) {
  console.warn(
    `\n${"!".repeat(78)}\n!! SKIPPING the Mosquitto test: nothing listens on ${HOST}:${PORT}.\n` +
      `!! Start it (mosquitto -d -c /etc/mosquitto/mosquitto.conf) to run it; with CI=true it fails instead.\n${"!".repeat(78)}\n`,
  );
}

let svc: TestService | undefined;
let sub: MqttClient | undefined;
afterAll(async () => {
  await sub?.endAsync();
  await svc?.dispose();
});

describe("events on the real Mosquitto", () => {
  test.skipIf(!reachable && !CI)("a subscriber sees events/magistrala/client/create with the right payload", async () => {
    expect(reachable, `Mosquitto must be reachable on ${HOST}:${PORT} when CI is set`).toBe(true);
    const url = `mqtt://${HOST}:${PORT}`;
    const D = `mosquitto-${randomUUID()}`;
    const seen: { topic: string; json: any }[] = [];
    sub = await connectAsync(url, { clientId: `mgc-sub-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0 });
    sub.on("message", (topic, payload) => {
      try {
        const json = JSON.parse(payload.toString());
        if (json.domain === D) seen.push({ topic, json });
      } catch {
        // someone else's message
      }
    });
    await sub.subscribeAsync("events/magistrala/client/create", { qos: 1 });

    svc = await startTestService({ MG_CLIENTS_ES_URL: url, MG_CLIENTS_STANDALONE_TOKEN: "tok-mosq" });
    const r = await svc.api("POST", `/${D}/clients`, { name: "via-mosquitto", tags: ["m"], credentials: { secret: "mosq-s3cret" } });
    expect(r.status).toBe(201);
    const until = Date.now() + 10_000;
    while (seen.length === 0 && Date.now() < until) await Bun.sleep(20);

    expect(seen).toHaveLength(1);
    const { topic, json } = seen[0]!;
    expect(topic).toBe("events/magistrala/client/create");
    expect(json).toMatchObject({
      operation: "client.create",
      id: r.json.id,
      name: "via-mosquitto",
      tags: ["m"],
      status: "enabled",
      domain: D,
      token_type: "access token",
      super_admin: false,
      request_id: r.headers.get("x-request-id"),
      roles_provisioned: [expect.objectContaining({ name: "admin", entity_id: r.json.id })],
      metadata: {},
      private_metadata: {},
    });
    expect(Number.isInteger(json.occurred_at)).toBe(true);
    expect(JSON.stringify(json)).not.toContain("mosq-s3cret");
  });
});
