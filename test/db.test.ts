import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createSecretHasher } from "../src/auth/secrets.ts";
import { createClientsRepository } from "../src/clients/repository.ts";
import type { Client } from "../src/clients/types.ts";
import { openSqlite } from "../src/db/sqlite.ts";
import { appendToOutbox } from "../src/events/outbox.ts";
import { AppError } from "../src/errors/index.ts";
import { silentLogger } from "../src/log/logger.ts";
import { tempDir } from "./helpers/service.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const open = () => {
  const dir = tempDir();
  dirs.push(dir);
  return openSqlite({ path: join(dir, "c.db"), logger: silentLogger, writeOutbox: appendToOutbox });
};
const hasher = createSecretHasher(Buffer.alloc(32, 7));
const client = (id: string, secret: string): Client => ({
  id,
  domainId: "d",
  name: id,
  tags: [],
  identity: "",
  secretHash: hasher.hash("d", secret),
  metadata: {},
  privateMetadata: {},
  parentGroupId: null,
  status: 0,
  createdAt: 1,
  updatedAt: null,
  updatedBy: null,
});

describe("the transaction helper", () => {
  test("transactions queued together commit together, and a failing one rolls back only its own work", async () => {
    const db = open();
    const repo = createClientsRepository(db);
    const committed: string[] = [];
    const jobs = Array.from({ length: 40 }, (_, i) =>
      db.transact(async (tx) => {
        // every 5th reuses secret "s0": its insert fails after the first one took it
        await repo.insert(tx, [client(`c${i}`, i % 5 === 0 ? "s0" : `s${i}`)]);
        tx.emit({ stream: "magistrala.test", entityId: `c${i}`, payload: { operation: "test", id: `c${i}` } });
        if (i === 7) throw new AppError("INVALID", "fails after its insert");
        tx.afterCommit(() => committed.push(`c${i}`));
        return i;
      }),
    );
    const results = await Promise.allSettled(jobs);
    const ok = results.flatMap((r, i) => (r.status === "fulfilled" ? [`c${i}`] : []));
    const expected = Array.from({ length: 40 }, (_, i) => i)
      .filter((i) => i === 0 || (i % 5 !== 0 && i !== 7))
      .map((i) => `c${i}`);
    expect(ok).toEqual(expected);
    expect((results[5] as PromiseRejectedResult).reason.message).toBe("client key is not available");
    expect((results[7] as PromiseRejectedResult).reason.message).toBe("fails after its insert");
    expect(committed.sort()).toEqual([...expected].sort());
    const rows = db.readConnection.query("SELECT id FROM clients ORDER BY id").all() as { id: string }[];
    expect(rows.map((r) => r.id).sort()).toEqual([...expected].sort());
    const events = db.readConnection.query("SELECT entity_id FROM outbox").all() as { entity_id: string }[];
    expect(events.map((e) => e.entity_id).sort()).toEqual([...expected].sort());
    await db.close();
  });

  test("reads see only committed data", async () => {
    const db = open();
    const repo = createClientsRepository(db);
    let seenInside: Client | undefined = undefined;
    await db.transact(async (tx) => {
      await repo.insert(tx, [client("x1", "sx")]);
      seenInside = await repo.find("d", "x1");
      expect(await repo.find("d", "x1", tx)).toBeDefined();
    });
    expect(seenInside).toBeUndefined();
    expect(await repo.find("d", "x1")).toBeDefined();
    await db.close();
  });

  test("a transaction waits while another process holds the write lock, then commits", async () => {
    const db = open();
    const repo = createClientsRepository(db);
    const { Database } = await import("bun:sqlite");
    const other = new Database(db.writeConnection.filename);
    other.exec("BEGIN IMMEDIATE");
    const pending = db.transact(async (tx) => repo.insert(tx, [client("late", "late")]));
    await Bun.sleep(300);
    other.exec("COMMIT");
    other.close();
    await pending;
    expect(await repo.find("d", "late")).toBeDefined();
    await db.close();
  });
});

describe("group commit over HTTP", () => {
  test("concurrent creates share commits (db_commits_total < db_transactions_total)", async () => {
    const { startTestService } = await import("./helpers/service.ts");
    const svc = await startTestService();
    try {
      const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec((await fetch(svc.url + "/metrics").then((r) => r.text())))?.[1]);
      const [t0, c0] = [await metric("db_transactions_total"), await metric("db_commits_total")];
      const results = await Promise.all(Array.from({ length: 64 }, () => svc.api("POST", "/gc/clients", {})));
      expect(results.every((r) => r.status === 201)).toBe(true);
      const [t1, c1] = [await metric("db_transactions_total"), await metric("db_commits_total")];
      expect(t1 - t0).toBe(64);
      expect(c1 - c0).toBeLessThan(32);
    } finally {
      await svc.dispose();
    }
  });
});
