import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type SqliteDatabase, openSqlite } from "../src/db/sqlite.ts";
import { appendToOutbox, createOutbox } from "../src/events/outbox.ts";
import { brokerTarget, topicFor } from "../src/events/publisher.ts";
import { silentLogger } from "../src/log/logger.ts";
import { Wakeup } from "../src/shared/wakeup.ts";
import { tempDir } from "./helpers/service.ts";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
let notified: { count: number; committedRows: number }[] = [];
let db: SqliteDatabase;
beforeEach(() => {
  notified = [];
  db = openSqlite({
    path: join(dir, `outbox-${n++}.db`),
    logger: silentLogger,
    writeOutbox: appendToOutbox,
    // What the publisher will read when woken: the rows must already be committed.
    onEventsCommitted: (count) => notified.push({ count, committedRows: (db.readConnection.query("SELECT count(*) AS n FROM outbox").get() as { n: number }).n }),
  });
});

afterEach(() => db.close());

const emit = (ids: string[]) =>
  db.transact(async (tx) => {
    for (const id of ids) tx.emit({ stream: "magistrala.client.create", entityId: id, payload: { operation: "client.create", id } });
  });

describe("the outbox and the after-commit notification", () => {
  test("a commit that wrote events notifies once, with their number, after they are visible; rollbacks and event-free commits do not", async () => {
    await emit(["a", "b"]);
    expect(notified).toEqual([{ count: 2, committedRows: 2 }]);
    await db.transact(async () => undefined);
    await expect(
      db.transact(async (tx) => {
        tx.emit({ stream: "magistrala.client.remove", entityId: "c", payload: { operation: "client.remove", id: "c" } });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(notified).toHaveLength(1);
    expect(await createOutbox(db).count()).toBe(2);
  });

  test("claim returns the oldest rows in seq order; acknowledge deletes exactly the given rows", async () => {
    await emit(["a", "b", "c"]);
    await emit(["d", "e"]);
    const outbox = createOutbox(db);
    const batch = await outbox.claim(4);
    expect(batch.rows.map((r) => r.entityId)).toEqual(["a", "b", "c", "d"]);
    expect(batch.rows.map((r) => r.seq)).toEqual([...batch.rows.map((r) => r.seq)].sort((x, y) => x - y));
    expect(JSON.parse(batch.rows[0]!.payload)).toMatchObject({ operation: "client.create", id: "a", occurred_at: expect.any(Number) });
    expect(batch.rows[0]!.stream).toBe("magistrala.client.create");
    expect(await batch.acknowledge([batch.rows[0]!.seq, batch.rows[2]!.seq])).toBe(2);
    expect((await outbox.claim(10)).rows.map((r) => r.entityId)).toEqual(["b", "d", "e"]);
    expect(await outbox.count()).toBe(3);
  });

  test("dropOldest removes the n oldest rows, and everything when n covers the table", async () => {
    await emit(["a", "b", "c", "d", "e"]);
    const outbox = createOutbox(db);
    expect(await outbox.dropOldest(2)).toBe(2);
    expect((await outbox.claim(10)).rows.map((r) => r.entityId)).toEqual(["c", "d", "e"]);
    expect(await outbox.dropOldest(0)).toBe(0);
    expect(await outbox.dropOldest(10)).toBe(3);
    expect(await outbox.count()).toBe(0);
  });
});

describe("publisher helpers", () => {
  test("topics: prefix + stream with dots as slashes", () => {
    expect(topicFor("events", "magistrala.client.create")).toBe("events/magistrala/client/create");
    expect(topicFor("events", "magistrala.client.update_secret")).toBe("events/magistrala/client/update_secret");
    expect(topicFor("gw-7/events/", "magistrala.client.roles")).toBe("gw-7/events/magistrala/client/roles");
    expect(topicFor("", "magistrala.client.remove")).toBe("magistrala/client/remove");
  });

  test("broker credentials come out of the URL, percent-decoded", () => {
    expect(brokerTarget("mqtt://user:p%40ss%3Aword@broker.local:1883")).toEqual({ protocol: "mqtt", host: "broker.local", port: 1883, username: "user", password: "p@ss:word" });
    expect(brokerTarget("mqtts://broker.local")).toEqual({ protocol: "mqtts", host: "broker.local" });
    expect(brokerTarget("mqtt://[::1]:1884")).toEqual({ protocol: "mqtt", host: "::1", port: 1884 });
    expect(brokerTarget("ws://u@gw:8080/mqtt")).toEqual({ protocol: "ws", host: "gw", port: 8080, path: "/mqtt", username: "u" });
  });

  test("Wakeup: a notify before the wait is kept, several coalesce, a wait without one times out", async () => {
    const w = new Wakeup();
    w.notify();
    w.notify();
    let t = performance.now();
    await w.wait(1000);
    expect(performance.now() - t).toBeLessThan(50);
    t = performance.now();
    await w.wait(60);
    expect(performance.now() - t).toBeGreaterThanOrEqual(50);
    t = performance.now();
    setTimeout(() => w.notify(), 20);
    await w.wait(1000);
    expect(performance.now() - t).toBeLessThan(500);
  });
});
