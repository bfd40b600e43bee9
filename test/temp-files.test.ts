import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTempFile, releaseTempFile, removeStaleTempFiles } from "../src/backup/temp-files.ts";
import { dbEnv, releaseDatabaseOf, testSqliteOnly } from "./helpers/backend.ts";
import { cli, MAIN } from "./helpers/cli.ts";
import { BUN } from "./helpers/process.ts";
import { startTestService, tempDir } from "./helpers/service.ts";

/**
 * Issue 12 item 9: backup, export, restore and import keep their temporary files (some with the
 * installation key in the clear) private, remove them when stopped by a signal, and remove what a
 * killed run left behind at the next run.
 */

const dirs: string[] = [];
const dir = () => {
  const d = tempDir("mgc-temp-");
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DEAD_PID = 2 ** 22 + 12345; // above Linux's pid_max
const temps = (d: string) => readdirSync(d).filter((n) => /\.tmp-\d+/.test(n));

/** A leftover of a killed run: a dead pid, older than a minute. */
function leftover(d: string, name: string): string {
  const path = join(d, name);
  writeFileSync(path, "installation key in the clear");
  const old = new Date(Date.now() - 5 * 60_000);
  utimesSync(path, old, old);
  return path;
}

describe("temporary files", () => {
  test("are created 0600 and exclusively, and released", () => {
    const d = dir();
    const tmp = createTempFile(join(d, "backup.db"));
    expect(tmp).toBe(join(d, `.backup.db.tmp-${process.pid}`));
    expect(statSync(tmp).mode & 0o777).toBe(0o600);
    releaseTempFile(tmp);
    expect(existsSync(tmp)).toBe(false);
  });

  test("leftovers of dead runs are removed; a live run's and recent ones are kept", () => {
    const d = dir();
    leftover(d, `.backup.db.tmp-${DEAD_PID}`);
    leftover(d, `.clients.db.tmp-${DEAD_PID}-journal`);
    const live = leftover(d, `.other.db.tmp-${process.ppid}`);
    const recent = join(d, `.new.db.tmp-${DEAD_PID}`);
    writeFileSync(recent, "");
    const unrelated = leftover(d, "notes.tmp-1");
    expect(removeStaleTempFiles(d).sort()).toEqual([`.backup.db.tmp-${DEAD_PID}`, `.clients.db.tmp-${DEAD_PID}-journal`]);
    for (const kept of [live, recent, unrelated]) expect(existsSync(kept)).toBe(true);
  });

  testSqliteOnly("the next backup, export or restore removes what a killed one left", "backup and restore copy the SQLite file", async () => {
    const dataDir = dir();
    const out = dir();
    const svc = await startTestService({}, dataDir);
    await svc.stop();
    const env = { MG_CLIENTS_DB_PATH: svc.dbPath };
    const stale = [leftover(out, `.b.db.tmp-${DEAD_PID}`), leftover(dataDir, `.clients.db.tmp-${DEAD_PID}`)];
    expect((await cli(["backup", join(out, "b.db")], env)).code).toBe(0);
    for (const s of stale) expect(existsSync(s)).toBe(false);
    leftover(out, `.dump.jsonl.tmp-${DEAD_PID}`);
    expect((await cli(["export", join(out, "dump.jsonl")], env)).code).toBe(0);
    expect(temps(out)).toEqual([]);
    leftover(dataDir, `.clients.db.tmp-${DEAD_PID}`);
    leftover(dataDir, `.installation.key.tmp-${DEAD_PID}`);
    const r = await cli(["restore", join(out, "b.db")], env);
    expect(r.stderr).toBe("");
    expect(temps(dataDir)).toEqual([]);
    expect(statSync(svc.dbPath).mode & 0o777).toBe(0o600);
  });

  test("an export stopped by SIGTERM or SIGINT leaves no temporary file and no dump", async () => {
    const dataDir = dir();
    const svc = await startTestService({}, dataDir);
    const env = { ...(await dbEnv(dataDir)), MG_CLIENTS_ES_URL: "", PATH: process.env.PATH ?? "" };
    // Enough rows that the export is still writing when the signal comes.
    const batch = Array.from({ length: 2500 }, () => ({ metadata: { pad: "x".repeat(200) } }));
    expect((await svc.api("POST", "/tf/clients/bulk", batch)).status).toBe(200);
    await svc.stop();
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const out = dir();
      const target = join(out, "dump.jsonl");
      const child = Bun.spawn([BUN, MAIN, "export", target], { env, stderr: "pipe", stdout: "pipe" });
      const started = Date.now();
      while (temps(out).length === 0 && Date.now() - started < 20_000 && child.exitCode === null) await Bun.sleep(2);
      expect(temps(out).length).toBe(1);
      child.kill(signal);
      expect(await child.exited).toBe(signal === "SIGTERM" ? 143 : 130);
      expect(readdirSync(out)).toEqual([]);
    }
    await releaseDatabaseOf(dataDir);
  });
});
