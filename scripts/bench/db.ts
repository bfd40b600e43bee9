// Which database a benchmark runs on: SQLite (default), or Postgres with `--postgres` or
// BENCH_DB=postgres, in throw-away databases created for the run and dropped at the end.
// BENCH_PG_HOST/_PORT/_USER/_PASS say where Postgres is (default 127.0.0.1:5432, postgres, no password).
import postgres from "postgres";

export const onPostgres = process.argv.includes("--postgres") || process.env.BENCH_DB === "postgres";

const PG = {
  host: process.env.BENCH_PG_HOST ?? "127.0.0.1",
  port: Number(process.env.BENCH_PG_PORT ?? 5432),
  user: process.env.BENCH_PG_USER ?? "postgres",
  pass: process.env.BENCH_PG_PASS ?? "",
};

export interface BenchDatabase {
  /** MG_CLIENTS_DB_* pointing the service at it. */
  env: Record<string, string>;
  /** Its postgres:// URL (for a bare baseline). */
  url: string;
  drop(): Promise<void>;
}

let seq = 0;

/** A fresh, empty database of the local server. */
export async function freshDatabase(label: string): Promise<BenchDatabase> {
  const admin = postgres({ ...PG, database: "postgres", max: 1, onnotice: () => undefined });
  const name = `mgc_bench_${label}_${process.pid}_${++seq}`;
  await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0`);
  const auth = PG.pass ? `${encodeURIComponent(PG.user)}:${encodeURIComponent(PG.pass)}` : encodeURIComponent(PG.user);
  return {
    env: {
      MG_CLIENTS_DB_DRIVER: "postgres",
      MG_CLIENTS_DB_HOST: PG.host,
      MG_CLIENTS_DB_PORT: String(PG.port),
      MG_CLIENTS_DB_USER: PG.user,
      MG_CLIENTS_DB_PASS: PG.pass,
      MG_CLIENTS_DB_NAME: name,
    },
    url: `postgres://${auth}@${PG.host}:${PG.port}/${name}`,
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
