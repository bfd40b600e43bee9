import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import journal from "../drizzle/sqlite/meta/_journal.json";
import { BACKUP_FORMAT, keyFingerprint, META_TABLE } from "../src/backup/format.ts";
import { describeSqliteOnly } from "./helpers/backend.ts";
import { cli, expectOneLineError, fingerprintDir } from "./helpers/cli.ts";
import { spawnService } from "./helpers/process.ts";
import { request, startTestService, type TestService, tempDir } from "./helpers/service.ts";

/** The newest migration's tag, which restore reports as the schema of the backup. */
const LATEST_MIGRATION = journal.entries[journal.entries.length - 1]!.tag;

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("mgc-backup-");
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Backup and restore copy the SQLite file; on Postgres the CLI refuses them (test/cli.test.ts). */
const WHY = "backup/restore copy the SQLite file; Postgres uses export/import or pg_dump";

const KNOWN_SECRET = "restore-proves-the-key";
const KEY_TAKEN = { message: "client key is not available" };

/** A stopped data directory with one client of a known secret, and a backup of it. */
async function dataDirWithBackup(opts: { noKey?: boolean } = {}) {
  const dataDir = dir();
  const svc = await startTestService({}, dataDir);
  const created = await svc.api("POST", "/bk/clients", { name: "known", credentials: { secret: KNOWN_SECRET } });
  expect(created.status).toBe(201);
  const file = join(dir(), "backup.db");
  const r = await cli(["backup", file, ...(opts.noKey ? ["--no-key"] : [])], { MG_CLIENTS_DB_PATH: svc.dbPath });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  await svc.stop();
  return { dataDir, dbPath: svc.dbPath, file, clientId: created.json.id as string, token: svc.token };
}

/** A second, populated data directory a restore would replace. */
async function otherDataDir() {
  const dataDir = dir();
  const svc = await startTestService({}, dataDir);
  expect((await svc.api("POST", "/other/clients", { name: "keep-me" })).status).toBe(201);
  await svc.stop();
  return { dataDir, dbPath: join(dataDir, "clients.db") };
}

describeSqliteOnly("backup during a concurrent write load, restored into a fresh directory", WHY, () => {
  test("the restored service has every write acknowledged before the backup started, is consistent, and its secrets still match", async () => {
    const dataDir = dir();
    const dbPath = join(dataDir, "clients.db");
    const token = "tok-backup-load";
    const auth = { authorization: `Bearer ${token}` };
    const svc = await spawnService({ MG_CLIENTS_DB_PATH: dbPath, MG_CLIENTS_STANDALONE_TOKEN: token });

    // Some bulk so that the snapshot takes a while, and the client whose secret proves the key.
    const seeded: string[] = [];
    for (let i = 0; i < 6; i++) {
      const bulk = await request(
        svc.url,
        "POST",
        "/bk/clients/bulk",
        Array.from({ length: 1000 }, (_, j) => ({ name: `seed-${i}-${j}` })),
        auth,
      );
      expect(bulk.status).toBe(200);
      seeded.push(...bulk.json.clients.map((c: { id: string }) => c.id));
    }
    const known = await request(svc.url, "POST", "/bk/clients", { name: "known", credentials: { secret: KNOWN_SECRET } }, auth);
    expect(known.status).toBe(201);

    // The load: 4 writers creating clients one by one until told to stop.
    const acks: { id: string; at: number }[] = [];
    const failures: string[] = [];
    let running = true;
    const writer = async (w: number) => {
      for (let i = 0; running; i++) {
        const r = await request(svc.url, "POST", "/bk/clients", { name: `load-${w}-${i}`, metadata: { w, i } }, auth);
        if (r.status === 201) acks.push({ id: r.json.id, at: performance.now() });
        else failures.push(`${r.status} ${r.text}`);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await Bun.sleep(300);

    const file = join(dir(), "live.backup");
    const backupStart = performance.now();
    const backup = await cli(["backup", file], { MG_CLIENTS_DB_PATH: dbPath });
    const backupEnd = performance.now();
    await Bun.sleep(200);
    running = false;
    await Promise.all(writers);
    expect(await svc.kill("SIGTERM")).toBe(0);

    expect(backup.stderr).toBe("");
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^backed up .+ to .+: \d+ clients, \d+ bytes, installation key included\n$/);
    expect(failures).toEqual([]);
    const before = acks.filter((a) => a.at < backupStart);
    const during = acks.filter((a) => a.at >= backupStart && a.at <= backupEnd);
    expect(before.length).toBeGreaterThan(0);
    expect(during.length).toBeGreaterThan(0); // the writes really went on while the backup ran
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(file, "..")).filter((n) => n.includes(".tmp-"))).toEqual([]);

    // Restore into a fresh directory (it does not exist yet).
    const fresh = join(dir(), "restored");
    const restore = await cli(["restore", file], { MG_CLIENTS_DB_PATH: join(fresh, "clients.db") });
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/: \d+ clients, schema \w+, installation key restored\n$/);
    expect(readFileSync(join(fresh, "installation.key"))).toEqual(readFileSync(join(dataDir, "installation.key")));

    const restored = await startTestService({ MG_CLIENTS_STANDALONE_TOKEN: token }, fresh);
    try {
      const ro = new Database(restored.dbPath, { readonly: true });
      const ids = new Set((ro.query("SELECT id FROM clients").all() as { id: string }[]).map((r) => r.id));
      const integrity = ro.query("PRAGMA integrity_check").get() as { integrity_check: string };
      const creates = ro.query("SELECT entity_id FROM outbox WHERE stream = 'magistrala.client.create'").all() as { entity_id: string }[];
      const metaLeft = ro.query("SELECT name FROM sqlite_master WHERE name = ?").get(META_TABLE);
      ro.close();

      // every acknowledged write from before the backup started is there
      const missing = [...seeded, known.json.id, ...before.map((a) => a.id)].filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
      // and nothing that was never acknowledged (a snapshot holds whole transactions only)
      const everAcked = new Set([...seeded, known.json.id, ...acks.map((a) => a.id)]);
      expect([...ids].filter((id) => !everAcked.has(id))).toEqual([]);
      // internally consistent: each client's create event was committed with it, and only those
      expect(integrity.integrity_check).toBe("ok");
      expect(creates.length).toBe(ids.size);
      expect(new Set(creates.map((c) => c.entity_id))).toEqual(ids);
      expect(metaLeft).toBeNull();

      // the service serves them
      const total = await restored.api("GET", "/bk/clients?only_total=true");
      expect(total.json.total).toBe(ids.size);
      const one = await restored.api("GET", `/bk/clients/${known.json.id}`);
      expect(one.json.name).toBe("known");

      // the key came along: the stored HMAC of the known secret collides only under the same key
      const dup = await restored.api("POST", "/bk/clients", { name: "dup", credentials: { secret: KNOWN_SECRET } });
      expect(dup.status).toBe(400);
      expect(dup.json).toEqual(KEY_TAKEN);
      const fresh2 = await restored.api("POST", "/bk/clients", { name: "new", credentials: { secret: "a-new-secret" } });
      expect(fresh2.status).toBe(201);
    } finally {
      await restored.stop();
    }
  }, 60_000);
});

describeSqliteOnly("the backup file", WHY, () => {
  test("is an SQLite database with the format, the key and its fingerprint; --no-key leaves only the fingerprint", async () => {
    const { dataDir, file } = await dataDirWithBackup();
    const keyHex = readFileSync(join(dataDir, "installation.key"), "utf8").trim();
    const meta = (path: string) => {
      const db = new Database(path, { readonly: true });
      const rows = db.query(`SELECT name, value FROM "${META_TABLE}"`).all() as { name: string; value: string }[];
      db.close();
      return Object.fromEntries(rows.map((r) => [r.name, r.value]));
    };
    const withKey = meta(file);
    expect(withKey).toMatchObject({ format: BACKUP_FORMAT, installation_key: keyHex, key_fingerprint: keyFingerprint(Buffer.from(keyHex, "hex")) });
    expect(Object.keys(withKey).sort()).toEqual(["commit", "created_at", "format", "installation_key", "key_fingerprint", "version"]);

    const noKeyFile = join(dir(), "nokey.db");
    const r = await cli(["backup", noKeyFile, "--no-key"], { MG_CLIENTS_DB_PATH: join(dataDir, "clients.db") });
    expect(r.code).toBe(0);
    expect(r.stdout).toEndWith("installation key NOT included\n");
    const noKey = meta(noKeyFile);
    expect(noKey.installation_key).toBeUndefined();
    expect(noKey.key_fingerprint).toBe(withKey.key_fingerprint!);
    expect(readFileSync(noKeyFile).includes(Buffer.from(keyHex))).toBe(false);
  });

  test("a restored database keeps no trace of the key in its pages", async () => {
    const { dataDir, file } = await dataDirWithBackup();
    const keyHex = readFileSync(join(dataDir, "installation.key"), "utf8").trim();
    expect(readFileSync(file).includes(Buffer.from(keyHex))).toBe(true);
    const fresh = dir();
    expect((await cli(["restore", file], { MG_CLIENTS_DB_PATH: join(fresh, "clients.db") })).code).toBe(0);
    expect(readFileSync(join(fresh, "clients.db")).includes(Buffer.from(keyHex))).toBe(false);
  });

  test("backup refuses to run without the key unless told --no-key", async () => {
    const { dataDir, dbPath } = await dataDirWithBackup();
    rmSync(join(dataDir, "installation.key"));
    const r = await cli(["backup", join(dir(), "x.db")], { MG_CLIENTS_DB_PATH: dbPath });
    expect(r.code).toBe(1);
    expect(expectOneLineError(r)).toBe(`error: no installation key at ${join(dataDir, "installation.key")}; use --no-key to back up the database alone`);
  });
});

describeSqliteOnly("restore refuses bad files and leaves the old database untouched", WHY, () => {
  async function expectRefused(file: string, message: string | RegExp) {
    const target = await otherDataDir();
    const before = fingerprintDir(target.dataDir);
    const r = await cli(["restore", file], { MG_CLIENTS_DB_PATH: target.dbPath });
    expect(r.code).toBe(1);
    const line = expectOneLineError(r);
    if (typeof message === "string") expect(line).toBe(message);
    else expect(line).toMatch(message);
    expect(fingerprintDir(target.dataDir)).toEqual(before); // byte-identical, no temporary file left
    // and it still serves its data
    const svc = await startTestService({}, target.dataDir);
    try {
      expect((await svc.api("GET", "/other/clients")).json.clients[0].name).toBe("keep-me");
    } finally {
      await svc.stop();
    }
  }

  test("a file that is not SQLite at all, or empty", async () => {
    const junk = join(dir(), "junk.db");
    writeFileSync(junk, "this is not a database\n".repeat(100));
    await expectRefused(junk, `error: cannot restore ${junk}: not a magistrala-clients backup (not an SQLite database)`);
    const empty = join(dir(), "empty.db");
    writeFileSync(empty, "");
    await expectRefused(empty, `error: cannot restore ${empty}: not a magistrala-clients backup (not an SQLite database)`);
  });

  test("a corrupt backup: damaged pages, or cut short", async () => {
    const { file } = await dataDirWithBackup();
    const bytes = readFileSync(file);
    const damaged = Buffer.from(bytes);
    for (let i = 4096 + 100; i < damaged.length; i += 97) damaged[i] = damaged[i]! ^ 0xa5;
    const damagedFile = join(dir(), "damaged.db");
    writeFileSync(damagedFile, damaged);
    await expectRefused(damagedFile, new RegExp(`^error: cannot restore ${damagedFile}: the file is corrupt \\(.+\\)$`));

    const cut = join(dir(), "cut.db");
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRefused(cut, new RegExp(`^error: cannot restore ${cut}: the file is corrupt \\(.+\\)$`));
  });

  test("a foreign SQLite database", async () => {
    const foreign = join(dir(), "foreign.db");
    const db = new Database(foreign, { create: true });
    db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT); INSERT INTO photos (path) VALUES ('a.jpg')");
    db.close();
    await expectRefused(foreign, `error: cannot restore ${foreign}: not a magistrala-clients backup (no __drizzle_migrations table)`);
  });

  test("a backup from a newer version (a migration this build does not know)", async () => {
    const { file } = await dataDirWithBackup();
    const newer = join(dir(), "newer.db");
    copyFileSync(file, newer);
    const db = new Database(newer);
    db.exec(`INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('abc', ${Date.UTC(2099, 0, 1)})`);
    db.close();
    await expectRefused(
      newer,
      `error: cannot restore ${newer}: it was written by a newer version (unknown migration of 2099-01-01T00:00:00.000Z); restore it with that version`,
    );
  });

  test("a --no-key backup onto a directory whose key is another one, or missing", async () => {
    const { file } = await dataDirWithBackup({ noKey: true });
    const target = await otherDataDir(); // has its own, different key
    const keyPath = join(target.dataDir, "installation.key");
    const before = fingerprintDir(target.dataDir);
    const r = await cli(["restore", file], { MG_CLIENTS_DB_PATH: target.dbPath });
    expect(r.code).toBe(1);
    expect(expectOneLineError(r)).toBe(
      `error: cannot restore ${file}: it was taken with another installation key than ${keyPath}; put the original key there first`,
    );
    expect(fingerprintDir(target.dataDir)).toEqual(before);

    const empty = join(dir(), "clients.db");
    const r2 = await cli(["restore", file], { MG_CLIENTS_DB_PATH: empty });
    expect(r2.code).toBe(1);
    expect(expectOneLineError(r2)).toBe(
      `error: cannot restore ${file}: it holds no installation key and ${join(empty, "..", "installation.key")} does not exist; put the original key there first`,
    );
    expect(existsSync(empty)).toBe(false);
  });
});

describeSqliteOnly("restore and the running service", WHY, () => {
  test("is refused while the service runs; works once it stopped, keeping the replaced database aside", async () => {
    const source = await dataDirWithBackup();
    const targetDir = dir();
    let svc: TestService = await startTestService({}, targetDir);
    const dbPath = svc.dbPath;
    await svc.api("POST", "/other/clients", { name: "replaced" });

    const refused = await cli(["restore", source.file], { MG_CLIENTS_DB_PATH: dbPath });
    expect(refused.code).toBe(1);
    expect(expectOneLineError(refused)).toMatch(
      new RegExp(
        `^error: refusing to restore: the database ${dbPath} is in use by another process \\(serve, pid ${process.pid}, since [^)]+\\); stop it first$`,
      ),
    );
    expect((await svc.api("GET", "/other/clients")).json.total).toBe(1); // undisturbed
    expect(readdirSync(targetDir).filter((n) => n.startsWith(".restore-"))).toEqual([]);
    await svc.stop();

    const ok = await cli(["restore", source.file], { MG_CLIENTS_DB_PATH: dbPath });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(
      `restored ${dbPath} from ${source.file}: 1 clients, schema ${LATEST_MIGRATION}, installation key restored; the previous database is kept as ${dbPath}.before-restore\n`,
    );
    expect(existsSync(`${dbPath}.before-restore`)).toBe(true);
    expect(existsSync(join(targetDir, "installation.key.before-restore"))).toBe(true);

    svc = await startTestService({}, targetDir);
    try {
      expect((await svc.api("GET", "/other/clients")).json.total).toBe(0);
      expect((await svc.api("GET", `/bk/clients/${source.clientId}`)).json.name).toBe("known");
      expect((await svc.api("POST", "/bk/clients", { credentials: { secret: KNOWN_SECRET } })).json).toEqual(KEY_TAKEN);
    } finally {
      await svc.stop();
    }
  });

  test("the WAL of a killed service is not replayed into the restored database", async () => {
    const source = await dataDirWithBackup();
    const dbPath = join(dir(), "clients.db");
    const token = "tok-wal";
    const svc = await spawnService({ MG_CLIENTS_DB_PATH: dbPath, MG_CLIENTS_STANDALONE_TOKEN: token });
    const lost = await request(svc.url, "POST", "/bk/clients", { name: "only-in-the-wal" }, { authorization: `Bearer ${token}` });
    expect(lost.status).toBe(201);
    await svc.kill("SIGKILL");
    expect(statSync(`${dbPath}-wal`).size).toBeGreaterThan(0);

    const r = await cli(["restore", source.file], { MG_CLIENTS_DB_PATH: dbPath });
    expect(r.code).toBe(0);
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    const restored = new Database(dbPath, { readonly: true });
    expect((restored.query("SELECT name FROM clients").all() as { name: string }[]).map((c) => c.name)).toEqual(["known"]);
    restored.close();
    const svc2 = await startTestService({ MG_CLIENTS_STANDALONE_TOKEN: token }, join(dbPath, ".."));
    try {
      expect((await svc2.api("GET", `/bk/clients/${lost.json.id}`)).status).toBe(404);
      expect((await svc2.api("GET", "/bk/clients?only_total=true")).json.total).toBe(1);
    } finally {
      await svc2.stop();
    }
    // the killed service's last write is in the database kept aside
    const previous = new Database(`${dbPath}.before-restore`, { readonly: true });
    expect(previous.query("SELECT name FROM clients WHERE id = ?").get(lost.json.id)).toEqual({ name: "only-in-the-wal" });
    previous.close();
  });

  test("a --no-key backup restores onto the directory that holds the same key", async () => {
    const source = await dataDirWithBackup({ noKey: true });
    mkdirSync(source.dataDir, { recursive: true });
    const r = await cli(["restore", source.file], { MG_CLIENTS_DB_PATH: source.dbPath });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("installation key kept");
    const svc = await startTestService({}, source.dataDir);
    try {
      expect((await svc.api("POST", "/bk/clients", { credentials: { secret: KNOWN_SECRET } })).json).toEqual(KEY_TAKEN);
    } finally {
      await svc.stop();
    }
  });
});
