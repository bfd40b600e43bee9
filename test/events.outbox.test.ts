import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Database } from "../src/db/database.ts";
import { brokerTarget, topicFor } from "../src/events/broker.ts";
import { createOutbox, type OutboxBatch } from "../src/events/outbox.ts";
import { Wakeup } from "../src/lib/wakeup.ts";
import { type OpenedDatabase, onPostgres, openTestDatabase } from "./helpers/backend.ts";

let notified: { count: number; committedRows: Promise<number> }[] = [];
let opened: OpenedDatabase;
let db: Database;
/** A fresh database per test, for the describe blocks that call it. */
const withDatabase = () => {
  beforeEach(async () => {
    notified = [];
    opened = await openTestDatabase({
      // What the publisher will read when woken: the rows must already be committed (the count
      // starts right here, in the notification).
      onEventsCommitted: (count) => notified.push({ count, committedRows: createOutbox(db).count() }),
    });
    db = opened.db;
  });
  afterEach(() => opened.dispose());
};

const emit = (ids: string[]) =>
  db.transact(async (tx) => {
    for (const id of ids) tx.emit({ stream: "magistrala.client.create", entityId: id, payload: { operation: "client.create", id } });
  });

describe("the outbox and the after-commit notification", () => {
  withDatabase();
  test("a commit that wrote events notifies once, with their number, after they are visible; rollbacks and event-free commits do not", async () => {
    await emit(["a", "b"]);
    expect(notified).toHaveLength(1);
    expect({ count: notified[0]!.count, committedRows: await notified[0]!.committedRows }).toEqual({ count: 2, committedRows: 2 });
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
    expect(outbox.shared).toBe(onPostgres);
    expect(batch.rows.map((r) => r.seq)).toEqual([...batch.rows.map((r) => r.seq)].sort((x, y) => x - y));
    expect(JSON.parse(batch.rows[0]!.payload)).toMatchObject({ operation: "client.create", id: "a", occurred_at: expect.any(Number) });
    expect(batch.rows[0]!.stream).toBe("magistrala.client.create");
    expect(await batch.acknowledge([batch.rows[0]!.seq, batch.rows[2]!.seq])).toBe(2);
    const again = await outbox.claim(10);
    expect(again.rows.map((r) => r.entityId)).toEqual(["b", "d", "e"]);
    await again.acknowledge([]);
    expect(await outbox.count()).toBe(3);
  });

  test("dropOldest removes the n oldest rows, and everything when n covers the table", async () => {
    await emit(["a", "b", "c", "d", "e"]);
    const outbox = createOutbox(db);
    expect(await outbox.dropOldest(2)).toBe(2);
    const left = await outbox.claim(10);
    expect(left.rows.map((r) => r.entityId)).toEqual(["c", "d", "e"]);
    await left.acknowledge([]);
    expect(await outbox.dropOldest(0)).toBe(0);
    expect(await outbox.dropOldest(10)).toBe(3);
    expect(await outbox.count()).toBe(0);
  });
});

describe.skipIf(!onPostgres)("several publishers on one Postgres outbox", () => {
  withDatabase();
  const ids = (b: OutboxBatch) => b.rows.map((r) => r.entityId);
  const emitFor = (entity: string, n: number) =>
    db.transact(async (tx) => {
      for (let i = 0; i < n; i++) tx.emit({ stream: "magistrala.client.update", entityId: entity, payload: { operation: "client.update", id: entity, i } });
    });

  test("concurrent claims get disjoint rows; what one holds, the other skips; released rows come back first", async () => {
    await emit(["a", "b", "c", "d", "e", "f"]);
    const outbox = createOutbox(db);
    const first = await outbox.claim(3);
    const second = await outbox.claim(10);
    expect(ids(first)).toEqual(["a", "b", "c"]);
    expect(ids(second)).toEqual(["d", "e", "f"]);
    // Held rows are not the cap's to drop either.
    expect(await outbox.dropOldest(1)).toBe(0);
    expect(await first.acknowledge([first.rows[1]!.seq])).toBe(1); // b delivered; a and c released
    const third = await outbox.claim(10);
    expect(ids(third)).toEqual(["a", "c"]);
    await Promise.all([second.acknowledge(second.rows.map((r) => r.seq)), third.acknowledge([])]);
    expect(await outbox.count()).toBe(2);
  });

  test("per-entity order: while one claim holds an entity's older event, no other claim gets its later ones", async () => {
    await emitFor("x", 1); // x#0
    await emit(["p"]);
    await emitFor("x", 2); // x#1, x#2 (their i: 0, 1)
    await emit(["q"]);
    const outbox = createOutbox(db);
    const holder = await outbox.claim(1);
    expect(ids(holder)).toEqual(["x"]);
    const other = await outbox.claim(10);
    expect(ids(other)).toEqual(["p", "q"]); // x#1 and x#2 wait for x#0
    await other.acknowledge(other.rows.map((r) => r.seq));
    await holder.acknowledge(holder.rows.map((r) => r.seq));
    const rest = await outbox.claim(10);
    expect(rest.rows.map((r) => JSON.parse(r.payload).i)).toEqual([0, 1]);
    await rest.acknowledge(rest.rows.map((r) => r.seq));
    expect(await outbox.count()).toBe(0);
  });

  test("two publishers draining 300 events in batches: every event exactly once, each entity in order", async () => {
    for (let e = 0; e < 30; e++) await emitFor(`e${e % 10}`, 10);
    const outbox = createOutbox(db);
    const shipped: { entity: string; i: number; seq: number }[] = [];
    const drain = async () => {
      for (;;) {
        const batch = await outbox.claim(7);
        if (batch.rows.length === 0) {
          await batch.acknowledge([]);
          if ((await outbox.count()) === 0) return;
          await Bun.sleep(5);
          continue;
        }
        for (const r of batch.rows) shipped.push({ entity: r.entityId, i: JSON.parse(r.payload).i, seq: r.seq });
        await Bun.sleep(1);
        await batch.acknowledge(batch.rows.map((r) => r.seq));
      }
    };
    await Promise.all([drain(), drain()]);
    expect(shipped).toHaveLength(300);
    expect(new Set(shipped.map((s) => s.seq)).size).toBe(300);
    for (let e = 0; e < 10; e++) {
      const mine = shipped.filter((s) => s.entity === `e${e}`).map((s) => s.seq);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
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
    expect(brokerTarget("mqtt://user:p%40ss%3Aword@broker.local:1883")).toEqual({
      protocol: "mqtt",
      host: "broker.local",
      port: 1883,
      username: "user",
      password: "p@ss:word",
    });
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
