import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createSecretHasher } from "../src/auth/secrets.ts";
import { createClientsRepository } from "../src/clients/repository.ts";
import type { Database } from "../src/db/database.ts";
import { asDatabase } from "../src/db/open.ts";
import { openSqlite } from "../src/db/sqlite/open.ts";
import type { RequestContext } from "../src/domain/context.ts";
import { rules } from "../src/domain/rules.ts";
import type { Transactor } from "../src/domain/transaction.ts";
import { createLogger } from "../src/log/logger.ts";
import { parseDomainUserId, type RolesService } from "../src/roles/service.ts";
import type { EntityKind } from "../src/roles/types.ts";
import { buildDomain } from "../src/wiring/domain.ts";
import { tempDir } from "./helpers/service.ts";

/**
 * The roles service on a real SQLite file: the user authorization the gRPC layer asks
 * (`userMayAccessChannel`) and the after-commit hook its cache listens to (`rolesChanged`).
 */

const ADMIN = "0f0e0d0c-0b0a-4909-8807-060504030201";
const D = "authz-domain";
const ctx: RequestContext = { userId: ADMIN, domainId: D, superAdmin: true, tokenType: "access token", requestId: "req-1" };

let dir: string;
let db: Database;
let roles: RolesService;
let createChannel: (id: string) => Promise<void>;
let removeChannel: (id: string) => Promise<void>;
/** Each hook call, with what a fresh read said at that moment (so: after the commit or not). */
const changes: { kind: EntityKind; id: string; aliceMayPublish: boolean }[] = [];
/** When set, every transaction of the roles service fails after its work, so it rolls back. */
let failAfterWork = false;
let watched = "";

beforeAll(() => {
  dir = tempDir();
  db = asDatabase(openSqlite({ path: join(dir, "clients.db"), logger: createLogger("error", () => {}) }));
  const failing: Transactor = {
    transact: (fn) =>
      db.transact(async (tx) => {
        const value = await fn(tx);
        if (failAfterWork) throw new Error("rolled back on purpose");
        return value;
      }),
  };
  // The service's own wiring and rules; the test watches the roles rule, after the commit of its transaction.
  const domain = buildDomain({
    db,
    hasher: createSecretHasher(randomBytes(32)),
    superAdminId: ADMIN,
    cache: { ttlMs: 60_000, maxEntries: 1000 },
    transactor: failing,
    rules: {
      ...rules,
      rolesChanged: (tx, kind, id) => {
        rules.rolesChanged(tx, kind, id);
        tx.afterCommit(() => changes.push({ kind, id, aliceMayPublish: roles.userMayAccessChannel(D, "alice", watched, "publish") as boolean }));
      },
    },
  });
  roles = domain.roles;
  createChannel = async (id) => {
    await domain.channels.create(ctx, [{ id }]);
  };
  removeChannel = (id) => domain.channels.remove(ctx, id);
});
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const may = (user: string, channel: string, action: "publish" | "subscribe", domain = D) => roles.userMayAccessChannel(domain, user, channel, action);

describe("userMayAccessChannel", () => {
  test("true through a channel role holding the action, false without it; synchronous on SQLite", async () => {
    const ch = "0a6a3b1e-1d3c-4e5f-9a8b-7c6d5e4f3a2b";
    await createChannel(ch);
    // the creator's built-in admin role holds publish and subscribe
    expect(may(ADMIN, ch, "publish")).toBe(true);
    expect(may(ADMIN, ch, "subscribe")).toBe(true);
    expect(may("alice", ch, "publish")).toBe(false);
    const pub = await roles.create(ctx, "channel", ch, { name: "publishers", actions: ["publish", "read"], members: ["alice"] });
    expect(may("alice", ch, "publish")).toBe(true);
    expect(may("alice", ch, "subscribe")).toBe(false);
    expect(may("bob", ch, "publish")).toBe(false);
    expect(may("alice", ch, "publish", "another-domain")).toBe(false);
    expect(may("alice", "no-such-channel", "publish")).toBe(false);
    await roles.addActions(ctx, "channel", ch, pub.role.id, ["subscribe"]);
    expect(may("alice", ch, "subscribe")).toBe(true);
    // a role without the action gives nothing
    await roles.create(ctx, "channel", ch, { name: "readers", actions: ["read"], members: ["carol"] });
    expect(may("carol", ch, "publish")).toBe(false);
  });

  test("false right after the member or the action is removed, by every route that removes them", async () => {
    const ch = "1b7b4c2f-2e4d-4f60-8b9c-8d7e6f5a4b3c";
    await createChannel(ch);
    const { role } = await roles.create(ctx, "channel", ch, { name: "publishers", actions: ["publish"], members: ["alice"] });
    const steps: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ["member removed", () => roles.removeMembers(ctx, "channel", ch, role.id, ["alice"]), () => roles.addMembers(ctx, "channel", ch, role.id, ["alice"])],
      ["all members removed", () => roles.removeMembers(ctx, "channel", ch, role.id), () => roles.addMembers(ctx, "channel", ch, role.id, ["alice"])],
      [
        "removed from every role",
        () => roles.removeEntityMembers(ctx, "channel", ch, ["alice"]),
        () => roles.addMembers(ctx, "channel", ch, role.id, ["alice"]),
      ],
      ["action removed", () => roles.removeActions(ctx, "channel", ch, role.id, ["publish"]), () => roles.addActions(ctx, "channel", ch, role.id, ["publish"])],
      ["all actions removed", () => roles.removeActions(ctx, "channel", ch, role.id), () => roles.addActions(ctx, "channel", ch, role.id, ["publish"])],
    ];
    for (const [what, remove, restore] of steps) {
      expect({ what, allowed: may("alice", ch, "publish") }).toEqual({ what, allowed: true });
      await remove();
      expect({ what, allowed: may("alice", ch, "publish") }).toEqual({ what, allowed: false });
      await restore();
    }
    expect(may("alice", ch, "publish")).toBe(true);
    await roles.remove(ctx, "channel", ch, role.id);
    expect(may("alice", ch, "publish")).toBe(false);
    expect(may(ADMIN, ch, "publish")).toBe(true);
    await removeChannel(ch);
    expect(may(ADMIN, ch, "publish")).toBe(false);
  });
});

describe("rolesChanged", () => {
  test("fires after the commit of every change that can alter an answer, with the entity", async () => {
    const ch = "2c8c5d3a-3f5e-4071-9cad-9e8f7a6b5c4d";
    watched = ch;
    changes.length = 0;
    await createChannel(ch);
    expect(changes).toEqual([{ kind: "channel", id: ch, aliceMayPublish: false }]);
    const step = async (op: () => Promise<unknown>, aliceMayPublish: boolean) => {
      changes.length = 0;
      await op();
      // once per operation, and the hook already sees the committed state
      expect(changes).toEqual([{ kind: "channel", id: ch, aliceMayPublish }]);
    };
    const { role } = await (async () => {
      changes.length = 0;
      const p = await roles.create(ctx, "channel", ch, { name: "pub", actions: ["publish"], members: ["alice"] });
      expect(changes).toEqual([{ kind: "channel", id: ch, aliceMayPublish: true }]);
      return p;
    })();
    await step(() => roles.removeActions(ctx, "channel", ch, role.id, ["publish"]), false);
    await step(() => roles.addActions(ctx, "channel", ch, role.id, ["publish"]), true);
    await step(() => roles.removeActions(ctx, "channel", ch, role.id), false);
    await step(() => roles.addActions(ctx, "channel", ch, role.id, ["publish", "subscribe"]), true);
    await step(() => roles.removeMembers(ctx, "channel", ch, role.id, ["alice"]), false);
    await step(() => roles.addMembers(ctx, "channel", ch, role.id, ["alice"]), true);
    await step(() => roles.removeMembers(ctx, "channel", ch, role.id), false);
    await step(() => roles.addMembers(ctx, "channel", ch, role.id, ["alice"]), true);
    await step(() => roles.removeEntityMembers(ctx, "channel", ch, ["alice"]), false);
    await step(() => roles.addMembers(ctx, "channel", ch, role.id, ["alice"]), true);
    await step(() => roles.remove(ctx, "channel", ch, role.id), false);
    await step(() => roles.create(ctx, "channel", ch, { name: "pub", actions: ["publish"], members: ["alice"] }), true);
    await step(() => removeChannel(ch), false);

    // a rename changes no right: no call; nor does a no-op removal
    const ch2 = "3d9d6e4b-4a6f-4182-8dbe-af9a8b7c6d5e";
    watched = ch2;
    await createChannel(ch2);
    const r2 = await roles.create(ctx, "channel", ch2, { name: "x" });
    changes.length = 0;
    await roles.rename(ctx, "channel", ch2, r2.role.id, "y");
    await roles.removeMembers(ctx, "channel", ch2, r2.role.id, ["nobody"]);
    await roles.removeActions(ctx, "channel", ch2, r2.role.id);
    expect(changes).toEqual([]);
  });

  test("never fires on rollback, and a rolled-back change leaves the answer as it was", async () => {
    const ch = "4eae7f5c-5b70-4293-9ecf-b0ab9c8d7e6f";
    watched = ch;
    await createChannel(ch);
    const { role } = await roles.create(ctx, "channel", ch, { name: "pub", actions: ["publish"], members: ["alice"] });
    changes.length = 0;
    failAfterWork = true;
    try {
      await expect(roles.removeMembers(ctx, "channel", ch, role.id, ["alice"])).rejects.toThrow("rolled back on purpose");
      await expect(roles.removeActions(ctx, "channel", ch, role.id)).rejects.toThrow("rolled back on purpose");
      await expect(roles.remove(ctx, "channel", ch, role.id)).rejects.toThrow("rolled back on purpose");
      await expect(roles.create(ctx, "channel", ch, { name: "other", actions: ["publish"], members: ["bob"] })).rejects.toThrow("rolled back on purpose");
    } finally {
      failAfterWork = false;
    }
    expect(changes).toEqual([]);
    expect(may("alice", ch, "publish")).toBe(true);
    expect(may("bob", ch, "publish")).toBe(false);
    // a refused change (422) does not fire either
    await expect(roles.addMembers(ctx, "channel", ch, role.id, ["alice"])).rejects.toThrow("failed to add policies");
    expect(changes).toEqual([]);
  });

  test("client roles report the client kind", async () => {
    changes.length = 0;
    const clients = createClientsRepository(db);
    const id = "5fbf8a6d-6c81-43a4-8fd0-c1bcad9e8f70";
    await db.transact(async (tx) => {
      await clients.insert(tx, [
        {
          id,
          domainId: D,
          name: "",
          tags: [],
          identity: "",
          secretHash: `h-${id}`,
          metadata: {},
          privateMetadata: {},
          parentGroupId: null,
          status: 0,
          createdAt: 1,
          updatedAt: null,
          updatedBy: null,
        },
      ]);
    });
    await roles.create(ctx, "client", id, { name: "ops", actions: ["read"], members: ["dave"] });
    expect(changes.map((c) => [c.kind, c.id])).toEqual([["client", id]]);
  });
});

describe("parseDomainUserId", () => {
  test("<domainID>_<userID>, or a bare user id (the super-admin)", () => {
    expect(parseDomainUserId("d1_u1")).toEqual({ domainId: "d1", userId: "u1" });
    expect(parseDomainUserId("5a9c1b7e-0000-4000-8000-000000000001_0f0e0d0c-0b0a-4909-8807-060504030201")).toEqual({
      domainId: "5a9c1b7e-0000-4000-8000-000000000001",
      userId: "0f0e0d0c-0b0a-4909-8807-060504030201",
    });
    expect(parseDomainUserId("my_domain_u1")).toEqual({ domainId: "my_domain", userId: "u1" });
    expect(parseDomainUserId(ADMIN)).toEqual({ userId: ADMIN });
  });
});
