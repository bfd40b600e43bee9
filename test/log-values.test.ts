import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createLogger, statementName } from "../src/log/logger.ts";
import { type OpenedDatabase, openTestDatabase } from "./helpers/backend.ts";

/**
 * Issue 12 item 6: a failed statement is logged with its error code and a statement name, never
 * with the values it carried (Drizzle puts the parameters in the message, Postgres quotes values
 * in its detail and some messages).
 */

let opened: OpenedDatabase;
beforeAll(async () => {
  opened = await openTestDatabase();
});
afterAll(async () => {
  await opened.dispose();
});

const SECRETS = ["hash-of-a-secret-Zq9", "identity-of-a-device-Xy7", "meta-value-Wv5"];

async function failure(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

function logged(err: Error): Record<string, unknown> {
  const lines: string[] = [];
  createLogger("info", (l) => lines.push(l)).error("unhandled error", { request_id: "r1", error: err });
  expect(lines).toHaveLength(1);
  for (const v of SECRETS) expect(lines[0]).not.toContain(v);
  return JSON.parse(lines[0]!);
}

test("a constraint failure is logged with its code, constraint and statement, without values", async () => {
  const { db } = opened;
  const t = db.tables;
  // A connection to a client and channel that do not exist: a foreign-key failure, values in the detail.
  const err = await failure(() =>
    db.transact(async (tx) => {
      const exec = (tx as unknown as { db: typeof db.read }).db;
      await exec.insert(t.connections).values({ channelId: SECRETS[0]!, domainId: SECRETS[2]!, clientId: SECRETS[1]!, type: 1 });
    }),
  );
  const line = logged(err);
  expect(line.error).toBe("database statement failed");
  // Drizzle's bun:sqlite driver does not say which statement failed; SQLite's messages name columns, never values.
  if (opened.store.driver === "postgres") expect(line.statement).toBe("insert connections");
  expect(String(line.code)).toMatch(opened.store.driver === "postgres" ? /^23503$/ : /^SQLITE_CONSTRAINT/);
  if (opened.store.driver === "postgres") expect(String(line.constraint)).toContain("connections");
  expect(String(line.stack)).not.toContain("Failed query");
});

test("a value Postgres refuses to parse is not quoted in the log either", async () => {
  const { db } = opened;
  const read = db.read as unknown as { execute(q: unknown): Promise<unknown>; all(q: unknown): unknown };
  const err = await failure(async () =>
    opened.store.driver === "postgres" ? read.execute(sql`SELECT ${SECRETS[0]}::int`) : read.all(sql`SELECT json_extract(${SECRETS[0]}, '$')`),
  );
  const line = logged(err);
  expect(line.error).toBe("database statement failed");
  if (opened.store.driver === "postgres") expect([line.code, line.statement]).toEqual(["22P02", "select"]);
});

test("other errors keep their message", () => {
  expect(logged(new Error("the broker went away")).error).toBe("the broker went away");
  expect(statementName('insert into "client_roles" ("id") values ($1)')).toBe("insert client_roles");
  expect(statementName('update "clients" set "status" = ? where "id" = ?')).toBe("update clients");
  expect(statementName('delete from "outbox" where seq in (?)')).toBe("delete outbox");
});
