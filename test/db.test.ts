import { afterAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createSecretHasher } from "../src/auth/secrets.ts";
import { createClientsRepository } from "../src/clients/repository.ts";
import type { Client } from "../src/clients/types.ts";
import { isRetryable } from "../src/db/postgres/transactions.ts";
import type { SqliteDatabase } from "../src/db/sqlite/open.ts";
import { AppError } from "../src/errors/index.ts";
import { type OpenedDatabase, onPostgres, openTestDatabase, testSqliteOnly } from "./helpers/backend.ts";
import { eventually } from "./helpers/broker.ts";

const opened: OpenedDatabase[] = [];
afterAll(async () => {
  for (const o of opened) await o.dispose();
});
const open = async () => {
  const o = await openTestDatabase();
  opened.push(o);
  return o.db;
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
  test("concurrent transactions each commit or roll back on their own; hooks and events only for the committed", async () => {
    const db = await open();
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
    // SQLite runs them in order (the first "s0" wins); on Postgres they race, any one of them wins.
    const s0 = Array.from({ length: 8 }, (_, k) => k * 5).filter((i) => results[i]!.status === "fulfilled");
    expect(s0).toHaveLength(1);
    if (!onPostgres) expect(s0).toEqual([0]);
    const expected = Array.from({ length: 40 }, (_, i) => i)
      .filter((i) => i === s0[0] || (i % 5 !== 0 && i !== 7))
      .map((i) => `c${i}`);
    expect(ok).toEqual(expected);
    const loser = s0[0] === 5 ? 10 : 5;
    expect((results[loser] as PromiseRejectedResult).reason.message).toBe("client key is not available");
    expect((results[7] as PromiseRejectedResult).reason.message).toBe("fails after its insert");
    expect(committed.sort()).toEqual([...expected].sort());
    const rows = await db.read.select({ id: db.tables.clients.id }).from(db.tables.clients);
    expect(rows.map((r) => r.id).sort()).toEqual([...expected].sort());
    const events = await db.read.select({ entityId: db.tables.outbox.entityId }).from(db.tables.outbox);
    expect(events.map((e) => e.entityId).sort()).toEqual([...expected].sort());
  });

  test("reads see only committed data", async () => {
    const db = await open();
    const repo = createClientsRepository(db);
    let seenInside: Client | undefined;
    await db.transact(async (tx) => {
      await repo.insert(tx, [client("x1", "sx")]);
      seenInside = await repo.find("d", "x1");
      expect(await repo.find("d", "x1", tx)).toBeDefined();
    });
    expect(seenInside).toBeUndefined();
    expect(await repo.find("d", "x1")).toBeDefined();
  });

  test("tx.invalidate reaches the bus's subscribers after commit, never on rollback", async () => {
    const db = await open();
    const seen: string[] = [];
    db.bus.subscribe((m) => seen.push(m));
    await db.transact(async (tx) => {
      tx.invalidate("client:a");
      expect(seen).toEqual([]); // not before the commit
    });
    expect(seen).toEqual(["client:a"]); // before transact resolves
    await expect(
      db.transact(async (tx) => {
        tx.invalidate("client:b");
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    db.bus.publish("client:c");
    expect(seen).toEqual(["client:a", "client:c"]);
    expect(db.bus.coherent).toBe(true);
  });

  testSqliteOnly("a transaction waits while another process holds the write lock, then commits", "the write lock of the database file", async () => {
    const db = (await open()) as SqliteDatabase;
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
  });
});

describe.skipIf(!onPostgres)("Postgres transactions", () => {
  test("a deadlock aborts one of two transactions, which is run again and commits", async () => {
    const db = await open();
    const repo = createClientsRepository(db);
    await db.transact((tx) => repo.insert(tx, [client("a", "sa"), client("b", "sb")]));
    const { clients } = db.tables;
    let bothHoldOne!: () => void;
    let holding = 0;
    const ready = new Promise<void>((resolve) => (bothHoldOne = resolve));
    const runs = [0, 0];
    const crossing = (me: number, first: string, second: string) =>
      db.transact(async (tx) => {
        runs[me]!++;
        await repo.update(tx, "d", first, { name: `by-${me}` });
        if (runs[me] === 1 && ++holding === 2) bothHoldOne();
        if (runs[me] === 1) await ready;
        await repo.update(tx, "d", second, { name: `by-${me}` });
      });
    await Promise.all([crossing(0, "a", "b"), crossing(1, "b", "a")]);
    expect(runs[0]! + runs[1]!).toBe(3); // the victim of the deadlock ran twice
    const names = await db.read.select({ name: clients.name }).from(clients).where(eq(clients.domainId, "d"));
    expect(new Set(names.map((n) => n.name)).size).toBe(1); // one of them did both, last
  });

  test("the retry is bounded: a transaction that keeps failing to serialize gives up with the error", async () => {
    const db = await open();
    let runs = 0;
    const err = await db
      .transact(async () => {
        runs++;
        throw Object.assign(new Error("could not serialize access"), { code: "40001" });
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("could not serialize access");
    expect(runs).toBe(6);
    expect(isRetryable({ cause: { code: "40P01" } })).toBe(true);
    expect(isRetryable({ code: "23505" })).toBe(false);
  });
});

describe.skipIf(!onPostgres)("Postgres: role actions keep to their roles (triggers of 0009, not a foreign key)", () => {
  test("a missing role is refused as by the key; deleting a role, or its client, deletes its actions; a role's id stays", async () => {
    const db = await open();
    const pool = (db as unknown as import("../src/db/postgres/open.ts").PostgresDatabase).sql;
    const fails = (q: Promise<unknown>) =>
      q.then(
        () => undefined,
        (e: { code?: string; constraint_name?: string }) => [e.code, e.constraint_name],
      );
    const fk = "client_role_actions_role_id_client_roles_id_fk";
    await db.transact((tx) => createClientsRepository(db).insert(tx, [client("ra", "s-ra"), client("rb", "s-rb")]));
    await pool`INSERT INTO client_roles (id, entity_id, name, created_by, created_at) VALUES ('role-a', 'ra', 'admin', 'u', 1), ('role-b', 'rb', 'admin', 'u', 1)`;
    expect(await fails(pool`INSERT INTO client_role_actions VALUES ('role-a', 'read'), ('no-such-role', 'read')`)).toEqual(["23503", fk]);
    await pool`INSERT INTO client_role_actions VALUES ('role-a', 'read'), ('role-a', 'update'), ('role-b', 'read')`;
    expect(await fails(pool`UPDATE client_role_actions SET role_id = 'no-such-role' WHERE role_id = 'role-b'`)).toEqual(["23503", fk]);
    expect(await fails(pool`UPDATE client_roles SET id = 'role-c' WHERE id = 'role-a'`)).toEqual(["23503", fk]);
    const actions = async () => (await pool<{ role_id: string }[]>`SELECT role_id FROM client_role_actions ORDER BY 1`).map((r) => r.role_id);
    expect(await actions()).toEqual(["role-a", "role-a", "role-b"]);
    await pool`DELETE FROM client_roles WHERE id = 'role-a'`;
    expect(await actions()).toEqual(["role-b"]);
    await pool`DELETE FROM clients WHERE id = 'rb'`; // cascades to its roles, and from them to their actions
    expect(await actions()).toEqual([]);
  });
});

describe.skipIf(!onPostgres)("Postgres planner statistics", () => {
  test("a burst of writes gets its tables analyzed within seconds, without waiting for autovacuum", async () => {
    const db = await open();
    const repo = createClientsRepository(db);
    const pool = (db as unknown as import("../src/db/postgres/open.ts").PostgresDatabase).sql;
    const analyzed = async () =>
      Number((await pool<{ n: string }[]>`SELECT analyze_count + autoanalyze_count AS n FROM pg_stat_user_tables WHERE relname = 'clients'`)[0]!.n);
    expect(await analyzed()).toBe(0);
    for (let i = 0; i < 60; i++) await db.transact((tx) => repo.insert(tx, [client(`burst-${i}`, `s-${i}`)]));
    // 5 s after start-up (the least interval), the tables autovacuum's rule calls stale are analyzed:
    // a cached plan chosen without statistics is planned again.
    await eventually(async () => (await analyzed()) > 0, 15_000, "clients analyzed");
  }, 20_000);
});

describe("group commit over HTTP", () => {
  testSqliteOnly("concurrent creates share commits (db_commits_total < db_transactions_total)", "group commit is how the SQLite helper commits", async () => {
    const { startTestService } = await import("./helpers/service.ts");
    const svc = await startTestService();
    try {
      const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(await fetch(`${svc.url}/metrics`).then((r) => r.text()))?.[1]);
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

describe("the read snapshot held between commits", () => {
  testSqliteOnly(
    "a read right after a commit sees it; the WAL stays bounded under a write load",
    "the held snapshot is the SQLite helper's",
    async () => {
      const { startTestService } = await import("./helpers/service.ts");
      const { statSync } = await import("node:fs");
      const svc = await startTestService();
      try {
        for (let i = 0; i < 60; i++) {
          const created = await Promise.all(Array.from({ length: 50 }, () => svc.api("POST", "/wal/clients", { tags: ["t"] })));
          // every acknowledged write is visible to the very next read
          const id = created[i % 50]!.json.id;
          expect((await svc.api("GET", `/wal/clients/${id}`)).status).toBe(200);
        }
        expect((await svc.api("GET", "/wal/clients?only_total=true")).json.total).toBe(3000);
        // without the release during writes, a checkpoint could never reset the WAL and it would grow with every write
        expect(statSync(`${svc.dbPath}-wal`).size).toBeLessThan(24 * 2 ** 20);
      } finally {
        await svc.dispose();
      }
    },
    60_000,
  );
});

describe("clean shutdown", () => {
  testSqliteOnly("a stopped service leaves one self-contained database file: the WAL is checkpointed away", "the WAL is SQLite's", async () => {
    const { startTestService } = await import("./helpers/service.ts");
    const { existsSync, copyFileSync } = await import("node:fs");
    const { Database } = await import("bun:sqlite");
    const svc = await startTestService();
    await svc.api(
      "POST",
      "/clean/clients/bulk",
      Array.from({ length: 500 }, () => ({})),
    );
    await svc.stop();
    try {
      expect(existsSync(`${svc.dbPath}-wal`)).toBe(false);
      // the file alone, copied as an operator might, holds everything
      const copy = `${svc.dataDir}/copy.db`;
      copyFileSync(svc.dbPath, copy);
      const db = new Database(copy, { readonly: true });
      expect((db.query("SELECT count(*) AS n FROM clients").get() as { n: number }).n).toBe(500);
      db.close();
    } finally {
      await svc.dispose();
    }
  });
});

describe("the statement cache", () => {
  testSqliteOnly(
    "a statement prepared once stays usable after hundreds of other SQL texts went through the connection",
    "the statement cache is the SQLite helper's",
    async () => {
      const { inArray } = await import("drizzle-orm");
      const db = await open();
      const repo = createClientsRepository(db);
      await db.transact((tx) => repo.insert(tx, [client("kept", "s-kept")]));
      expect((await repo.authRecord("kept"))?.id).toBe("kept"); // a prepared statement of the read connection
      // 300 distinct SQL texts (one per list length): more than the cache holds
      const ids = db.tables.clients.id;
      for (let n = 1; n <= 300; n++)
        await db.read
          .select({ id: ids })
          .from(db.tables.clients)
          .where(
            inArray(
              ids,
              Array.from({ length: n }, (_, i) => `x${i}`),
            ),
          );
      expect((await repo.authRecord("kept"))?.id).toBe("kept");
    },
  );
});
