import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { onPostgres, pgStoreText } from "./helpers/backend.ts";
import { request, startTestService, type TestService } from "./helpers/service.ts";

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

/** Every byte the service keeps on disk: the database, its WAL and shared memory, key files. */
function diskBytes(dir: string): string {
  return readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .map((p) => readFileSync(p).toString("latin1"))
    .join("\n");
}

describe("client secrets are never kept or shown in the clear", () => {
  test("a created client's raw secret is absent from the database, WAL, logs and every later response", async () => {
    const secret = "raw-secret-7f3a9c1e-do-not-store";
    const created = await svc.api("POST", "/secdom/clients", { name: "s", credentials: { identity: "id", secret } });
    expect(created.json.credentials.secret).toBe(secret); // shown once, at create
    const id = created.json.id;
    const later = [
      await svc.api("GET", `/secdom/clients/${id}`),
      await svc.api("GET", "/secdom/clients"),
      await svc.api("GET", "/secdom/clients?status=all"),
      await svc.api("PATCH", `/secdom/clients/${id}`, { name: "s2" }),
      await svc.api("PATCH", `/secdom/clients/${id}/tags`, { tags: ["t"] }),
      await svc.api("POST", `/secdom/clients/${id}/disable`),
      await svc.api("POST", `/secdom/clients/${id}/enable`),
    ];
    for (const r of later) {
      expect(r.status).toBeLessThan(300);
      expect(r.text).not.toContain(secret);
    }
    const bulkSecret = "bulk-raw-secret-11aa22bb";
    await svc.api("POST", "/secdom/clients/bulk", [{ credentials: { secret: bulkSecret } }]);
    const rotated = "rotated-raw-secret-99ff";
    const changed = await svc.api("PATCH", `/secdom/clients/${id}/secret`, { secret: rotated });
    expect(changed.text).not.toContain(rotated);

    // SQLite: the database file and its WAL are in the data directory. Postgres: every stored row
    // (its files and WAL belong to the server; the rows are what they hold).
    if (!onPostgres) expect(existsSync(`${svc.dbPath}-wal`)).toBe(true);
    const disk = diskBytes(svc.dataDir) + (svc.store.driver === "postgres" ? await pgStoreText(svc.store.database) : "");
    if (onPostgres) expect(disk).toContain(created.json.id); // the rows were read
    for (const s of [secret, bulkSecret, rotated]) {
      expect(disk.includes(s)).toBe(false);
      expect(svc.logs.join("").includes(s)).toBe(false);
    }
  });

  test("a wrong secret-shaped token is refused and no token appears in the logs", async () => {
    await request(svc.url, "GET", "/secdom/clients", undefined, { authorization: "Bearer guessed-token-abc" });
    const logs = svc.logs.join("");
    expect(logs.includes(svc.token)).toBe(false);
    expect(logs.includes("guessed-token-abc")).toBe(false);
  });
});

describe("standalone auth and key files", () => {
  test("first start generates the token, id and installation key as 0600 files and logs only the token's path", () => {
    for (const f of ["standalone.token", "standalone.id", "installation.key"]) {
      const st = statSync(join(svc.dataDir, f));
      expect((st.mode & 0o777).toString(8)).toBe("600");
    }
    expect(svc.token.length).toBeGreaterThanOrEqual(32);
    const line = svc.logs.find((l) => l.includes("standalone admin token"));
    expect(line).toBeDefined();
    expect(JSON.parse(line!).token_file).toBe(join(svc.dataDir, "standalone.token"));
    if (!onPostgres) expect((statSync(svc.dbPath).mode & 0o777).toString(8)).toBe("600");
  });

  test("MG_CLIENTS_STANDALONE_TOKEN/_ID replace the generated ones", async () => {
    const s = await startTestService({ MG_CLIENTS_STANDALONE_TOKEN: "env-token-123", MG_CLIENTS_STANDALONE_ID: "admin-user-1" });
    try {
      const ok = await request(s.url, "POST", "/d/clients", {}, { authorization: "Bearer env-token-123" });
      expect(ok.status).toBe(201);
      const updated = await request(s.url, "POST", `/d/clients/${ok.json.id}/disable`, undefined, { authorization: "Bearer env-token-123" });
      expect(updated.json.updated_by).toBe("admin-user-1");
      expect(existsSync(join(s.dataDir, "standalone.token"))).toBe(false);
      const other = await request(s.url, "GET", "/d/clients", undefined, { authorization: `Bearer ${svc.token}` });
      expect(other.status).toBe(401);
    } finally {
      await s.dispose();
    }
  });

  test("a restart reuses the generated token and key: old token works, old secrets still hash the same", async () => {
    const s = await startTestService();
    const dir = s.dataDir;
    const first = await s.api("POST", "/d/clients", { credentials: { secret: "persisted-secret" } });
    expect(first.status).toBe(201);
    await s.stop();
    const again = await startTestService({}, dir);
    try {
      expect(again.token).toBe(s.token);
      // the same secret collides with the stored hash only if the key is the same
      const dup = await again.api("POST", "/d/clients", { credentials: { secret: "persisted-secret" } });
      expect(dup.json).toEqual({ message: "client key is not available" });
    } finally {
      await again.dispose();
    }
  });
});
