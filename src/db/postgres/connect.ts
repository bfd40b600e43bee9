import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import postgres, { type Options, type Sql } from "postgres";
import type { Config } from "../../config/config.ts";
import type { Logger } from "../../log/logger.ts";

export type PgSettings = Config["db"]["pg"];

/** `application_name` of the service's connections (an import refuses to run beside them). */
export const SERVICE_APP_NAME = "magistrala-clients";
/** `application_name` of the command line's connections (migrate, export, import). */
export const CLI_APP_NAME = "magistrala-clients/cli";

/** Connections per instance; more waiting requests queue in the driver. */
const POOL_MAX = 10;
const CONNECT_TIMEOUT_S = 10;
/** Idle pooled connections are closed after this (the listener's never is). */
const IDLE_TIMEOUT_S = 60;

/** The database as an operator would name it, without the password. */
export function describeTarget(pg: PgSettings): string {
  const host = isIP(pg.host) === 6 ? `[${pg.host}]` : pg.host;
  return `postgres://${encodeURIComponent(pg.user)}@${host}:${pg.port}/${encodeURIComponent(pg.name)}?sslmode=${pg.sslMode}`;
}

type SslOption = false | ConnectionOptions;

/**
 * MG_CLIENTS_DB_SSL_MODE with libpq's meaning, as the TLS options to try in order:
 * - disable: plain; allow: plain, else TLS; prefer: TLS, else plain (both unverified, as in libpq);
 * - require: TLS without verification — but with a root certificate it verifies the chain, as
 *   libpq does when a root certificate file exists;
 * - verify-ca: TLS, the chain verified against MG_CLIENTS_DB_SSL_ROOT_CERT (else the system CAs);
 * - verify-full: verify-ca plus the server's name against MG_CLIENTS_DB_HOST.
 * MG_CLIENTS_DB_SSL_CERT/_KEY add a client certificate to every TLS attempt.
 */
export function sslCandidates(pg: PgSettings, read: (path: string) => string = (p) => readFileSync(p, "utf8")): SslOption[] {
  const base: ConnectionOptions = {};
  if (pg.sslCert) base.cert = read(pg.sslCert);
  if (pg.sslKey) base.key = read(pg.sslKey);
  const ca = pg.sslRootCert ? read(pg.sslRootCert) : undefined;
  const servername = isIP(pg.host) ? undefined : pg.host;
  const unverified: ConnectionOptions = { ...base, rejectUnauthorized: false, servername };
  const verifyCa: ConnectionOptions = { ...base, ca, rejectUnauthorized: true, servername, checkServerIdentity: () => undefined };
  switch (pg.sslMode) {
    case "disable":
      return [false];
    case "allow":
      return [false, unverified];
    case "prefer":
      return [unverified, false];
    case "require":
      return [ca ? verifyCa : unverified];
    case "verify-ca":
      return [verifyCa];
    case "verify-full":
      return [{ ...base, ca, rejectUnauthorized: true, servername }];
  }
}

export interface ConnectOptions {
  /** `application_name`, so an operator (and `import`) can tell the service's connections apart. */
  applicationName?: string;
  logger: Logger;
}

export interface PgConnector {
  /** A new client on the database (the pool, or a dedicated connection with `extra`). */
  connect(extra?: Partial<Options<Record<string, never>>> & Record<string, unknown>): Sql;
  readonly target: string;
}

/**
 * Settles the TLS choice once (allow/prefer try their alternatives in order, like libpq) and
 * returns a factory of clients that all use it. Never logs the password.
 */
export async function pgConnector(pg: PgSettings, opts: ConnectOptions): Promise<PgConnector> {
  const target = describeTarget(pg);
  const base = (ssl: SslOption, extra: Record<string, unknown> = {}): Options<Record<string, never>> =>
    ({
      host: pg.host,
      port: pg.port,
      user: pg.user,
      pass: pg.pass,
      database: pg.name,
      ssl,
      max: POOL_MAX,
      idle_timeout: IDLE_TIMEOUT_S,
      connect_timeout: CONNECT_TIMEOUT_S,
      // Notices ("schema already exists, skipping") would land on stdout among the JSON log lines.
      onnotice: (n: { message?: string }) => opts.logger.debug("postgres notice", { message: n.message }),
      connection: { application_name: opts.applicationName ?? SERVICE_APP_NAME },
      ...extra,
    }) as Options<Record<string, never>>;
  const candidates = sslCandidates(pg);
  const chosen = candidates.length === 1 ? candidates[0]! : await firstThatConnects(candidates, (ssl) => base(ssl, { max: 1 }), target);
  if (candidates.length > 1) opts.logger.debug("postgres connection settled", { target, tls: chosen !== false });
  return { target, connect: (extra) => postgres(base(chosen, extra)) };
}

/** allow/prefer: the first TLS choice a probe connection succeeds with (the last failure if none does). */
async function firstThatConnects(candidates: SslOption[], options: (ssl: SslOption) => Options<Record<string, never>>, target: string): Promise<SslOption> {
  let lastError: unknown;
  for (const ssl of candidates) {
    const probe = postgres(options(ssl));
    try {
      await probe`SELECT 1`;
      return ssl;
    } catch (err) {
      lastError = err;
    } finally {
      await probe.end({ timeout: 0 }).catch(() => undefined);
    }
  }
  throw connectError(target, lastError);
}

/** A connection failure, in one line with the target (never the password). */
export function connectError(target: string, err: unknown): Error {
  const e = err as { message?: string; code?: string } | undefined;
  let message = e?.message ?? String(err);
  // What the TLS layer says when the server answered "no SSL here" to a mode that needs it.
  if (/before secure TLS connection was established/.test(message)) message += " (does the server accept SSL connections?)";
  return new Error(`cannot connect to ${target}: ${message}`);
}
