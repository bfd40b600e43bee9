// Baseline for scripts/bench/http.ts: a bare Elysia + bun:sqlite server doing only a primary-key
// lookup (GET) and a one-row insert (POST), with the same SQLite durability settings as the service.
import { Database } from "bun:sqlite";
import { Elysia } from "elysia";

const [path, port] = [process.argv[2]!, Number(process.argv[3])];
const db = new Database(path, { create: true, strict: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = FULL");
db.exec("PRAGMA busy_timeout = 5000");
db.exec("CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, domain_id TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL)");
const get = db.prepare("SELECT * FROM clients WHERE id = ?");
const insert = db.prepare("INSERT INTO clients (id, domain_id, name, created_at) VALUES (?, ?, ?, ?)");

new Elysia()
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
  })
  .listen({ port, hostname: "localhost" });
console.log("ready");
