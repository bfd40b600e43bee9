import { Database as SqliteConnection } from "bun:sqlite";
import { existsSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { buildInfo } from "../buildinfo.ts";
import { type Config, ConfigError, loadConfig } from "../config/config.ts";
import { type MigrationStatus, migrationStatus } from "../db/migrations.ts";
import { openSqlite, SQLITE_MIGRATIONS } from "../db/sqlite/open.ts";
import { createLogger } from "../log/logger.ts";
import type { Progress } from "../progress/progress.ts";

type Env = Record<string, string | undefined>;

export interface CliDeps {
  /** Runs the service until a signal stops it (src/main.ts). */
  serve(env: Env): Promise<void>;
  env?: Env;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** A failure of a command whose message is the whole story (printed as `error: <message>`). */
class CliError extends Error {
  override name = "CliError";
}

const NAME = "magistrala-clients";
const CONFIG_NOTE = "\nConfiguration comes from the MG_CLIENTS_* environment variables (see the README).";

const versionLine = () => `${NAME} ${buildInfo.version} (commit ${buildInfo.commit}, built ${buildInfo.buildTime})`;

/**
 * Runs one command line (without the executable's name). Resolves to the exit code, or to
 * undefined when the command keeps running (`serve`). Never throws: every error becomes one
 * line on stderr and a non-zero code (2 for usage errors, 1 for everything else).
 */
export async function runCli(args: string[], deps: CliDeps): Promise<number | undefined> {
  const env = deps.env ?? process.env;
  const out = deps.out ?? ((s: string) => void process.stdout.write(s));
  const err = deps.err ?? ((s: string) => void process.stderr.write(s));
  let exitCode: number | undefined = 0;
  const program = buildProgram({ env, out, err, serve: deps.serve, setExit: (c) => (exitCode = c), progressToErr: deps.err !== undefined });
  try {
    // `serve` is the default: an empty command line runs it (an unknown word stays an error).
    await program.parseAsync(args.length === 0 ? ["serve"] : args, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its one-line message (or the help / version text)
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ConfigError) {
      for (const p of e.problems) err(`config error: ${p}\n`);
      return 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    err(`error: ${oneLine(message)}\n`);
    return 1;
  }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ").trim();

interface Io {
  env: Env;
  out: (text: string) => void;
  err: (text: string) => void;
  serve(env: Env): Promise<void>;
  setExit(code: number | undefined): void;
  /** Progress goes to stderr: the process's (a bar on a terminal), or `err` when one was given. */
  progressToErr: boolean;
}

/**
 * The commands. Each one's implementation (backup, transfer, the Postgres tools, progress,
 * healthcheck) is imported when it runs: `serve`, the default, starts without them (issue #14).
 */
function buildProgram(io: Io): Command {
  const program = new Command(NAME);
  // Settings made before .command() are inherited by every subcommand.
  program
    .description("Device registry and access control for IoT gateways (Magistrala Clients and Channels contract).")
    .version(versionLine(), "-V, --version", "print the version, commit and build time")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      // commander puts a suggestion on a second line; keep every error on one.
      outputError: (text, write) => write(`${oneLine(text)}\n`),
    })
    .addHelpText("after", `\nWith no command, ${NAME} runs \`serve\`.${CONFIG_NOTE}`);

  program
    .command("serve")
    .description("run the service: HTTP API and gRPC until SIGTERM/SIGINT (the default command)")
    .addHelpText("after", CONFIG_NOTE)
    .action(async () => {
      io.setExit(undefined);
      await io.serve(io.env);
    });

  program
    .command("migrate")
    .description("apply pending database migrations and exit")
    .option("--status", "list applied and pending migrations; change nothing")
    .addHelpText(
      "after",
      `\nSQLite: refused while a service holds the database. Postgres: safe beside running instances (an advisory lock\nserializes migrations). The service applies migrations at start-up anyway.${CONFIG_NOTE}`,
    )
    .action(async (opts: { status?: boolean }) => {
      const config = loadConfig(io.env);
      const logger = createLogger("warn", io.err);
      if (config.db.driver === "postgres") {
        const [{ CLI_APP_NAME, describeTarget, pgConnector }, { migratePostgres, pgMigrationStatus }] = await Promise.all([
          import("../db/postgres/connect.ts"),
          import("../db/postgres/migrate.ts"),
        ]);
        const pg = config.db.pg;
        const target = describeTarget(pg);
        if (opts.status) {
          io.out(formatStatus(target, true, await pgMigrationStatus(pg, logger)));
          return;
        }
        const { before, after } = await migratePostgres(await pgConnector(pg, { logger, applicationName: CLI_APP_NAME }));
        io.out(migrateSummary(target, before, after));
        return;
      }
      const path = config.db.path;
      const before = readStatus(path);
      if (opts.status) {
        io.out(formatStatus(path, existsSync(path), before));
        return;
      }
      const db = openSqlite({ path, logger, owner: "migrate" });
      await db.close();
      io.out(migrateSummary(path, before, readStatus(path)));
    });

  program
    .command("backup")
    .description("write a consistent snapshot of the database and the installation key to <file>, while the service runs")
    .argument("<file>", "the backup file to write (replaced atomically if it exists)")
    .option("--no-key", "leave the installation key out (only its fingerprint goes in); keep the key safe by other means")
    .option(QUIET_FLAG, QUIET_HELP)
    .addHelpText("after", `\nThe file is an SQLite database with one extra table (magistrala_backup) holding the key: keep it private.${CONFIG_NOTE}`)
    .action(async (file: string, opts: { key: boolean; quiet?: boolean }) => {
      const config = sqliteConfig(io.env, "backup");
      const { backupWithProgress } = await import("../backup/run.ts");
      const r = await backupWithProgress(
        { dbPath: config.db.path, dataDir: config.db.dataDir, file, includeKey: opts.key },
        await progressFor(io, "backup", opts),
      );
      io.out(
        `backed up ${config.db.path} to ${r.file}: ${r.clients} clients, ${r.bytes} bytes, installation key ${r.keyIncluded ? "included" : "NOT included"}\n`,
      );
    });

  program
    .command("restore")
    .description("replace the database (and installation key) with a backup's; the service must be stopped")
    .argument("<file>", "a file written by `backup`")
    .option(QUIET_FLAG, QUIET_HELP)
    .addHelpText(
      "after",
      `\nThe file is checked first (SQLite integrity, this product's migrations, the key); on any problem nothing changes.\nThe replaced database and key are kept beside them as *.before-restore.${CONFIG_NOTE}`,
    )
    .action(async (file: string, opts: { quiet?: boolean }) => {
      const config = sqliteConfig(io.env, "restore");
      const { restoreWithProgress } = await import("../backup/run.ts");
      const r = await restoreWithProgress(
        { file, dbPath: config.db.path, dataDir: config.db.dataDir, migrationsFolder: SQLITE_MIGRATIONS },
        await progressFor(io, "restore", opts),
      );
      for (const w of r.warnings) io.err(`warning: ${oneLine(w)}\n`);
      const kept = r.previous ? `; the previous database is kept as ${r.previous}` : "";
      io.out(
        `restored ${config.db.path} from ${file}: ${r.clients} clients, schema ${r.schema}, installation key ${r.keyRestored ? "restored" : "kept"}${kept}\n`,
      );
    });

  program
    .command("export")
    .description("write a portable dump (JSON lines) of every table and the installation key to <file>, while the service runs")
    .argument("<file>", "the dump to write (replaced atomically if it exists)")
    .option(QUIET_FLAG, QUIET_HELP)
    .addHelpText(
      "after",
      `\nWorks on SQLite and Postgres alike; \`import\` loads the file into either, so a gateway's data moves between them.\nThe file holds the installation key: keep it private.${CONFIG_NOTE}`,
    )
    .action(async (file: string, opts: { quiet?: boolean }) => {
      const config = loadConfig(io.env);
      const { runExport } = await import("./transfer.ts");
      io.out(`${await runExport(config, file, createLogger("warn", io.err), await progressFor(io, "export", opts))}\n`);
    });

  program
    .command("import")
    .description("load a dump written by `export` into the configured database, all or nothing")
    .argument("<file>", "a file written by `export`")
    .option("--merge", "add the dump's rows to a database that already has rows (a conflicting row aborts the import)")
    .option(QUIET_FLAG, QUIET_HELP)
    .addHelpText(
      "after",
      `\nRefuses a database that has rows unless --merge, and runs with the services stopped (SQLite: the lock;\nPostgres: refused while instances are connected). On any problem nothing changes.${CONFIG_NOTE}`,
    )
    .action(async (file: string, opts: { merge?: boolean; quiet?: boolean }) => {
      const config = loadConfig(io.env);
      const { runImport } = await import("./transfer.ts");
      const progress = await progressFor(io, "import", opts);
      io.out(`${await runImport(config, file, { merge: opts.merge === true, progress }, createLogger("warn", io.err))}\n`);
    });

  program
    .command("healthcheck")
    .description("GET /health of the service on this host; exit 0 when it passes, 1 otherwise (for container health checks)")
    .option("--url <url>", "the /health URL to ask (default: from MG_CLIENTS_HTTP_HOST/_PORT and the TLS settings)")
    .option("--timeout <ms>", "how long to wait for the answer", positiveInt, 3000)
    .addHelpText("after", CONFIG_NOTE)
    .action(async (opts: { url?: string; timeout: number }) => {
      const { checkHealth, localHealthUrl } = await import("./healthcheck.ts");
      let url = opts.url;
      if (url === undefined) {
        const config = loadConfig(io.env);
        if (config.http.port === 0) throw new CliError("MG_CLIENTS_HTTP_PORT is 0 (a random port): give the URL with --url");
        url = localHealthUrl(config.http);
      }
      const r = await checkHealth(url, opts.timeout);
      (r.healthy ? io.out : io.err)(`${r.message}\n`);
      io.setExit(r.healthy ? 0 : 1);
    });

  program
    .command("version")
    .description("print the version, commit and build time")
    .option("--json", "print them as a JSON object")
    .action((opts: { json?: boolean }) => {
      io.out(
        opts.json ? `${JSON.stringify({ version: buildInfo.version, commit: buildInfo.commit, build_time: buildInfo.buildTime })}\n` : `${versionLine()}\n`,
      );
    });

  return program;
}

const QUIET_FLAG = "-q, --quiet";
const QUIET_HELP = "print no progress (by default: a bar on a terminal, else a line on stderr every few seconds)";

/** Progress on the command's stderr: a bar when it is a terminal, plain lines otherwise. */
async function progressFor(io: Io, command: string, opts: { quiet?: boolean }): Promise<Progress> {
  const { createProgress } = await import("../progress/progress.ts");
  return createProgress({ command, quiet: opts.quiet === true, write: io.progressToErr ? io.err : undefined });
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError("expected a positive number of milliseconds");
  return Number(value);
}

/** The configuration, for commands that work on the SQLite file. */
function sqliteConfig(env: Env, command: string): Config {
  const config = loadConfig(env);
  if (config.db.driver !== "sqlite")
    throw new CliError(
      `${command} works on the SQLite database only (MG_CLIENTS_DB_DRIVER=${config.db.driver}: use \`export\`/\`import\` for a portable dump, or pg_dump/pg_restore)`,
    );
  return config;
}

function readStatus(path: string): MigrationStatus {
  if (!existsSync(path)) return migrationStatus(undefined, SQLITE_MIGRATIONS);
  let conn: SqliteConnection | undefined;
  try {
    conn = new SqliteConnection(path, { readonly: true });
    conn.exec("PRAGMA busy_timeout = 5000");
    return migrationStatus(conn, SQLITE_MIGRATIONS);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  } finally {
    conn?.close();
  }
}

const lastApplied = (s: MigrationStatus) => s.entries.filter((e) => e.state === "applied").at(-1)?.tag;

function formatStatus(target: string, exists: boolean, s: MigrationStatus): string {
  const lines = [`database: ${target}${exists ? "" : " (does not exist yet)"}`];
  for (const e of s.entries) lines.push(`${e.state.padEnd(8)} ${e.tag}`);
  for (const u of s.unknown) lines.push(`${"unknown".padEnd(8)} migration of ${new Date(u.when).toISOString()} (recorded by a newer version)`);
  const count = (state: string) => s.entries.filter((e) => e.state === state).length;
  const extra = ["modified", "skipped"]
    .filter((st) => count(st) > 0)
    .map((st) => `, ${count(st)} ${st}`)
    .join("");
  lines.push(`${count("applied")} applied, ${count("pending")} pending${extra}${s.unknown.length ? `, ${s.unknown.length} unknown` : ""}`);
  return `${lines.join("\n")}\n`;
}

function migrateSummary(target: string, before: MigrationStatus, after: MigrationStatus): string {
  const newly = after.entries.filter((e) => e.state === "applied" && before.entries.find((b) => b.tag === e.tag)?.state === "pending");
  const current = lastApplied(after);
  return newly.length > 0
    ? `applied ${newly.length} migration${newly.length === 1 ? "" : "s"} (${newly.map((e) => e.tag).join(", ")}) to ${target}\n`
    : `nothing to apply: ${target} is up to date${current ? ` (${current})` : ""}\n`;
}
