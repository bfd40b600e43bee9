import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isStorageFull } from "../src/db/storage-full.ts";
import { onPostgres } from "./helpers/backend.ts";
import { run } from "./helpers/process.ts";
import { startTestService, type TestService, tempDir } from "./helpers/service.ts";

/**
 * Issue 12 item 10: a full disk. The service's data directory is a 4 MiB tmpfs of its own (the
 * tests run as root, as CI does); once a filler file takes the room left, every write is 503
 * `storage full` with one log line, and writes work again as soon as the filler goes. On
 * Postgres the rows are in the server's own storage, which a test must not fill: there the
 * classification of its disk_full code (53100) is what is checked.
 */

describe("storage full", () => {
  test("SQLite's SQLITE_FULL, Postgres's disk_full and ENOSPC are storage full; other failures are not", () => {
    expect(isStorageFull(Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" }))).toBe(true);
    expect(isStorageFull(new Error("Failed query", { cause: Object.assign(new Error("could not extend file"), { code: "53100" }) }))).toBe(true);
    expect(isStorageFull(Object.assign(new Error("no space"), { code: "ENOSPC" }))).toBe(true);
    expect(isStorageFull(Object.assign(new Error("constraint"), { code: "SQLITE_CONSTRAINT_UNIQUE" }))).toBe(false);
    expect(isStorageFull(new Error("other"))).toBe(false);
  });

  describe.if(!onPostgres)("a real full disk under SQLite", () => {
    const mountPoint = tempDir("mgc-full-");
    let svc: TestService;
    beforeAll(async () => {
      const mounted = await run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mountPoint]);
      if (mounted.code !== 0) throw new Error(`cannot mount a tmpfs for the test: ${mounted.stderr}`);
      const dataDir = join(mountPoint, "data");
      mkdirSync(dataDir, { mode: 0o700 });
      svc = await startTestService({ MG_CLIENTS_DB_DRIVER: "sqlite", MG_CLIENTS_DB_PATH: join(dataDir, "clients.db") }, dataDir);
    });
    afterAll(async () => {
      await svc?.stop();
      await run(["umount", mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });

    test("writes are 503 storage full with one log line, and work again once there is room", async () => {
      expect((await svc.api("POST", "/full/clients", { name: "before" })).status).toBe(201);
      const filler = join(mountPoint, "filler");
      // Take every byte left (the write stops at ENOSPC).
      try {
        writeFileSync(filler, Buffer.alloc(4 << 20));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
      }
      const logsBefore = svc.logs.length;
      const answers = [];
      for (let i = 0; i < 5; i++)
        answers.push(
          await svc.api(
            "POST",
            "/full/clients/bulk",
            Array.from({ length: 200 }, (_, j) => ({ name: `n-${i}-${j}`, metadata: { pad: "x".repeat(500) } })),
          ),
        );
      for (const r of answers) {
        expect(r.status).toBe(503);
        expect(r.json).toEqual({ message: "storage full" });
      }
      const lines = svc.logs.slice(logsBefore).filter((l) => l.includes('"level":"error"') || l.includes('"level":"warn"'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("storage full");
      expect(lines[0]).not.toContain("stack");
      // Reads still answer; the service stays healthy.
      expect((await svc.api("GET", "/full/clients")).json.total).toBe(1);
      expect((await svc.api("GET", "/health")).status).toBe(200);
      rmSync(filler);
      const after = await svc.api(
        "POST",
        "/full/clients/bulk",
        Array.from({ length: 20 }, () => ({ name: "after" })),
      );
      expect(after.status).toBe(200);
      expect((await svc.api("GET", "/full/clients")).json.total).toBe(21);
    });
  });
});
