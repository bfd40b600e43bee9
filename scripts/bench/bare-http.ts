// Baseline for scripts/bench/http.ts: a bare Elysia server doing only a primary-key lookup (GET) and
// a one-row insert (POST), on bun:sqlite with the same durability settings as the service, or — when
// the first argument is a postgres:// URL — on Postgres through the service's driver (postgres.js).
import { Database } from "bun:sqlite";
import { Elysia } from "elysia";
import postgres from "postgres";

const [target, port] = [process.argv[2]!, Number(process.argv[3])];

function sqliteApp(path: string) {
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, domain_id TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL)");
  const get = db.prepare("SELECT * FROM clients WHERE id = ?");
  const insert = db.prepare("INSERT INTO clients (id, domain_id, name, created_at) VALUES (?, ?, ?, ?)");
  return new Elysia()
    .get("/:domainID/clients/:id", ({ params, set }) => {
      const row = get.get(params.id);
      if (!row) {
        set.status = 404;
        return { message: "entity not found" };
      }
      return row;
    })
    .post("/:domainID/clients", ({ params, set }) => {
      const id = crypto.randomUUID();
      insert.run(id, params.domainID, "", Date.now());
      set.status = 201;
      return { id };
    });
}

async function postgresApp(url: string) {
  const sql = postgres(url, { max: 10, onnotice: () => undefined });
  await sql`CREATE TABLE IF NOT EXISTS bare_clients (id text PRIMARY KEY, domain_id text NOT NULL, name text NOT NULL, created_at bigint NOT NULL)`;
  return new Elysia()
    .get("/:domainID/clients/:id", async ({ params, set }) => {
      const [row] = await sql`SELECT * FROM bare_clients WHERE id = ${params.id}`;
      if (!row) {
        set.status = 404;
        return { message: "entity not found" };
      }
      return row;
    })
    .post("/:domainID/clients", async ({ params, set }) => {
      const id = crypto.randomUUID();
      await sql`INSERT INTO bare_clients (id, domain_id, name, created_at) VALUES (${id}, ${params.domainID}, '', ${Date.now()})`;
      set.status = 201;
      return { id };
    });
}

const app = target.startsWith("postgres://") ? await postgresApp(target) : sqliteApp(target);
app.listen({ port, hostname: "localhost" });
console.log("ready");
