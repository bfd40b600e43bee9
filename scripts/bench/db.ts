// Which database a benchmark runs on: SQLite (default), or Postgres with `--postgres` or
// BENCH_DB=postgres, in a throw-away database created for the run and dropped at the end.
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
  /** MG_CLIENTS_DB_* for the service. */
  env: Record<string, string>;
  /** postgres:// URL of a second database, for the bare baseline. */
  bareUrl: string;
  drop(): Promise<void>;
}

/** Two fresh databases: one for the service, one for the baseline (each on its own, as on SQLite). */
export async function benchDatabases(): Promise<BenchDatabase> {
  const admin = postgres({ ...PG, database: "postgres", max: 1, onnotice: () => undefined });
  const stamp = `${Date.now()}_${process.pid}`;
  const names = [`mgc_bench_${stamp}`, `mgc_bench_bare_${stamp}`];
  for (const n of names) await admin.unsafe(`CREATE DATABASE "${n}" TEMPLATE template0`);
  const auth = PG.pass ? `${encodeURIComponent(PG.user)}:${encodeURIComponent(PG.pass)}` : encodeURIComponent(PG.user);
  return {
    env: {
      MG_CLIENTS_DB_DRIVER: "postgres",
      MG_CLIENTS_DB_HOST: PG.host,
      MG_CLIENTS_DB_PORT: String(PG.port),
      MG_CLIENTS_DB_USER: PG.user,
      MG_CLIENTS_DB_PASS: PG.pass,
      MG_CLIENTS_DB_NAME: names[0]!,
    },
    bareUrl: `postgres://${auth}@${PG.host}:${PG.port}/${names[1]}`,
    async drop() {
      for (const n of names) await admin.unsafe(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
