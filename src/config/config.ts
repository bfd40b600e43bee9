import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDuration } from "./duration.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
type DbDriver = "sqlite" | "postgres";
type PgSslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface Config {
  logLevel: LogLevel;
  /** maxBodyBytes: MG_CLIENTS_HTTP_MAX_BODY, above which a request body is 413. */
  http: { host: string; port: number; tls?: TlsFiles; maxBodyBytes: number };
  grpc: { host: string; port: number; tls?: TlsFiles & { caCerts?: string } };
  db: {
    driver: DbDriver;
    /** SQLite file; its folder is the data directory (installation key, standalone token). */
    path: string;
    dataDir: string;
    /** MG_CLIENTS_DB_PREWARM: keep the auth path's B-trees in the page cache (SQLite, src/db/sqlite/prewarm.ts). */
    prewarm: boolean;
    pg: {
      host: string;
      port: number;
      user: string;
      pass: string;
      name: string;
      sslMode: PgSslMode;
      sslCert: string;
      sslKey: string;
      sslRootCert: string;
    };
  };
  cache: { ttlMs: number; maxEntries: number };
  events: { url: string; topicPrefix: string; outboxMaxRows: number };
  /** The broker hooks listener (contract hooks.md); absent when MG_CLIENTS_HOOKS_PORT is empty. */
  hooks?: { host: string; port: number; tls?: TlsFiles; token?: string };
  /**
   * The broker's management API (MG_CLIENTS_BROKER_*): kicks revoked devices' live sessions and
   * learns presence. Absent when MG_CLIENTS_BROKER_KIND is empty.
   */
  broker?: BrokerConfig;
  standalone: { id?: string; token?: string };
  /** allowNew: MG_CLIENTS_NEW_INSTALLATION_KEY, start with a new key even though the database holds secrets. */
  installationKey: { allowNew: boolean };
  instanceId?: string;
}

export type BrokerKind = "rabbitmq" | "emqx" | "vernemq";

export interface BrokerConfig {
  kind: BrokerKind;
  /** The API's base URL without its credentials, e.g. http://127.0.0.1:15672 (safe to log). */
  apiUrl: string;
  /** From the URL's user:password@ (VerneMQ: the API key as the user, no password). */
  username: string;
  password: string;
  /** MG_CLIENTS_BROKER_POLL_INTERVAL: how often the broker's connection list is read (RabbitMQ). */
  pollMs: number;
}

/** Raised with every problem found, one line each, so an operator fixes them all at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const DRIVERS: readonly DbDriver[] = ["sqlite", "postgres"];
const SSL_MODES: readonly PgSslMode[] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
const BROKER_KINDS: readonly BrokerKind[] = ["rabbitmq", "emqx", "vernemq"];
const ES_SCHEMES = ["mqtt:", "mqtts:", "tcp:", "tls:", "ssl:", "ws:", "wss:"];

type Env = Record<string, string | undefined>;

/** Parses and validates the whole configuration once; throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string, def: string): string => env[name] ?? def;

  const oneOf = <T extends string>(name: string, def: T, allowed: readonly T[]): T => {
    const v = str(name, def);
    if (!allowed.includes(v as T)) {
      problems.push(`${name}: "${v}" is not one of ${allowed.join(", ")}`);
      return def;
    }
    return v as T;
  };

  const port = (name: string, def: number): number => {
    const v = env[name];
    if (v === undefined || v === "") return def;
    if (!/^\d+$/.test(v) || Number(v) > 65535) {
      problems.push(`${name}: "${v}" is not a port number (0-65535)`);
      return def;
    }
    return Number(v);
  };

  const positiveInt = (name: string, def: number): number => {
    const v = env[name];
    if (v === undefined || v === "") return def;
    if (!/^\d+$/.test(v) || Number(v) < 1) {
      problems.push(`${name}: "${v}" is not a positive integer`);
      return def;
    }
    return Number(v);
  };

  const existingFile = (name: string): string => {
    const v = str(name, "");
    if (v === "") return "";
    if (!existsSync(v) || !statSync(v).isFile()) problems.push(`${name}: file "${v}" does not exist`);
    return v;
  };

  const certPair = (certVar: string, keyVar: string): TlsFiles | undefined => {
    const cert = existingFile(certVar);
    const key = existingFile(keyVar);
    if ((cert === "") !== (key === "")) {
      problems.push(`${cert ? keyVar : certVar}: must be set together with ${cert ? certVar : keyVar}`);
      return undefined;
    }
    return cert ? { cert, key } : undefined;
  };

  const logLevel = oneOf("MG_CLIENTS_LOG_LEVEL", "info", LOG_LEVELS);

  const httpTls = certPair("MG_CLIENTS_SERVER_CERT", "MG_CLIENTS_SERVER_KEY");
  const maxBodyText = str("MG_CLIENTS_HTTP_MAX_BODY", "1MiB");
  let maxBodyBytes = parseSize(maxBodyText);
  if (maxBodyBytes === undefined || maxBodyBytes < 1024 || maxBodyBytes > MAX_BODY_CEILING) {
    problems.push(`MG_CLIENTS_HTTP_MAX_BODY: "${maxBodyText}" is not a size from 1KiB to 1GiB (e.g. 1MiB, 512KiB or plain bytes)`);
    maxBodyBytes = 1 << 20;
  }
  const http = { host: str("MG_CLIENTS_HTTP_HOST", "localhost"), port: port("MG_CLIENTS_HTTP_PORT", 9000), tls: httpTls, maxBodyBytes };

  const grpcPair = certPair("MG_CLIENTS_GRPC_SERVER_CERT", "MG_CLIENTS_GRPC_SERVER_KEY");
  const caCerts = existingFile("MG_CLIENTS_GRPC_CA_CERTS");
  if (caCerts && !grpcPair) problems.push("MG_CLIENTS_GRPC_CA_CERTS: requires MG_CLIENTS_GRPC_SERVER_CERT and MG_CLIENTS_GRPC_SERVER_KEY");
  const grpc = {
    host: str("MG_CLIENTS_GRPC_HOST", "localhost"),
    port: port("MG_CLIENTS_GRPC_PORT", 7000),
    tls: grpcPair ? { ...grpcPair, caCerts: caCerts || undefined } : undefined,
  };

  const driver = oneOf("MG_CLIENTS_DB_DRIVER", "sqlite", DRIVERS);
  const dbPath = str("MG_CLIENTS_DB_PATH", "./data/clients.db");
  if (dbPath.trim() === "") problems.push("MG_CLIENTS_DB_PATH: must not be empty");
  const db = {
    driver,
    path: resolve(dbPath),
    dataDir: dirname(resolve(dbPath)),
    prewarm: oneOf("MG_CLIENTS_DB_PREWARM", "on", ["on", "off"]) === "on",
    pg: {
      host: str("MG_CLIENTS_DB_HOST", "localhost"),
      port: port("MG_CLIENTS_DB_PORT", 5432),
      user: str("MG_CLIENTS_DB_USER", "magistrala"),
      pass: str("MG_CLIENTS_DB_PASS", "magistrala"),
      name: str("MG_CLIENTS_DB_NAME", "clients"),
      sslMode: oneOf("MG_CLIENTS_DB_SSL_MODE", "disable", SSL_MODES),
      sslCert: existingFile("MG_CLIENTS_DB_SSL_CERT"),
      sslKey: existingFile("MG_CLIENTS_DB_SSL_KEY"),
      sslRootCert: existingFile("MG_CLIENTS_DB_SSL_ROOT_CERT"),
    },
  };

  const ttlText = str("MG_CLIENTS_CACHE_KEY_DURATION", "1h");
  let ttlMs = parseDuration(ttlText);
  if (ttlMs === undefined) {
    problems.push(`MG_CLIENTS_CACHE_KEY_DURATION: "${ttlText}" is not a duration (use e.g. 90s, 1h, 1h30m or plain seconds)`);
    ttlMs = 3_600_000;
  }
  const cache = { ttlMs, maxEntries: positiveInt("MG_CLIENTS_CACHE_MAX_ENTRIES", 100_000) };

  const esUrl = str("MG_CLIENTS_ES_URL", "mqtt://localhost:1883");
  if (esUrl !== "") {
    let scheme = "";
    try {
      scheme = new URL(esUrl).protocol;
    } catch {
      scheme = "";
    }
    if (!ES_SCHEMES.includes(scheme)) problems.push(`MG_CLIENTS_ES_URL: "${redactUrl(esUrl)}" is not an MQTT URL (mqtt://host:port) or empty`);
  }
  const topicPrefix = str("MG_CLIENTS_ES_TOPIC_PREFIX", "events");
  if (/[#+]/.test(topicPrefix)) problems.push(`MG_CLIENTS_ES_TOPIC_PREFIX: "${topicPrefix}" must not contain MQTT wildcards (# or +)`);
  const events = { url: esUrl, topicPrefix, outboxMaxRows: positiveInt("MG_CLIENTS_ES_OUTBOX_MAX_ROWS", 1_000_000) };

  // Hooks: on by default (localhost:9001); an empty port turns the listener off.
  const hooksOn = env.MG_CLIENTS_HOOKS_PORT !== "";
  const hooksTls = certPair("MG_CLIENTS_HOOKS_SERVER_CERT", "MG_CLIENTS_HOOKS_SERVER_KEY");
  const hooksToken = env.MG_CLIENTS_HOOKS_TOKEN || undefined;
  if (hooksToken !== undefined && /\s/.test(hooksToken)) problems.push("MG_CLIENTS_HOOKS_TOKEN: must not contain whitespace");
  const hooks = hooksOn
    ? { host: str("MG_CLIENTS_HOOKS_HOST", "localhost"), port: port("MG_CLIENTS_HOOKS_PORT", 9001), tls: hooksTls, token: hooksToken }
    : undefined;

  const broker = brokerConfig(env, problems);

  const standalone = {
    id: env.MG_CLIENTS_STANDALONE_ID || undefined,
    token: env.MG_CLIENTS_STANDALONE_TOKEN || undefined,
  };
  if (standalone.token !== undefined && /\s/.test(standalone.token)) problems.push("MG_CLIENTS_STANDALONE_TOKEN: must not contain whitespace");

  const allowNewKeyText = str("MG_CLIENTS_NEW_INSTALLATION_KEY", "false");
  const allowNewKey = ["true", "1"].includes(allowNewKeyText.toLowerCase());
  if (!allowNewKey && !["false", "0", ""].includes(allowNewKeyText.toLowerCase()))
    problems.push(`MG_CLIENTS_NEW_INSTALLATION_KEY: "${allowNewKeyText}" is not true or false`);

  // MG_SEND_TELEMETRY and MG_JAEGER_URL are accepted for compatibility and ignored: the appliance calls no one home.

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    logLevel,
    http,
    grpc,
    db,
    cache,
    events,
    hooks,
    broker,
    standalone,
    installationKey: { allowNew: allowNewKey },
    instanceId: env.MG_CLIENTS_INSTANCE_ID || undefined,
  };
}

/** MG_CLIENTS_BROKER_KIND, _API_URL (credentials checked here; the password is never echoed), _POLL_INTERVAL. */
function brokerConfig(env: Env, problems: string[]): BrokerConfig | undefined {
  const kind = env.MG_CLIENTS_BROKER_KIND ?? "";
  const urlText = env.MG_CLIENTS_BROKER_API_URL ?? "";
  const pollText = env.MG_CLIENTS_BROKER_POLL_INTERVAL || "5s";
  const pollMs = parseDuration(pollText);
  if (pollMs === undefined || pollMs < 100)
    problems.push(`MG_CLIENTS_BROKER_POLL_INTERVAL: "${pollText}" is not a duration of at least 100ms (e.g. 5s, 500ms)`);
  if (kind === "") {
    if (urlText !== "") problems.push("MG_CLIENTS_BROKER_API_URL: set, but MG_CLIENTS_BROKER_KIND is empty (rabbitmq, emqx or vernemq)");
    return undefined;
  }
  if (!BROKER_KINDS.includes(kind as BrokerKind)) {
    problems.push(`MG_CLIENTS_BROKER_KIND: "${kind}" is not one of ${BROKER_KINDS.join(", ")} (or empty)`);
    return undefined;
  }
  const name = "MG_CLIENTS_BROKER_API_URL";
  if (urlText === "") {
    problems.push(`${name}: required with MG_CLIENTS_BROKER_KIND=${kind} (the broker's management API, e.g. http://user:password@127.0.0.1:15672)`);
    return undefined;
  }
  let u: URL;
  try {
    u = new URL(urlText);
  } catch {
    problems.push(`${name}: "${redactUrl(urlText)}" is not a URL (http://user:password@host:port)`);
    return undefined;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    problems.push(`${name}: "${redactUrl(urlText)}" must be an http:// or https:// URL`);
    return undefined;
  }
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (username === "" || (kind !== "vernemq" && password === "")) {
    const form = kind === "vernemq" ? "the API key as the user (http://<api key>@host:8888)" : "user:password@ (http://user:password@host:port)";
    problems.push(`${name}: "${redactUrl(urlText)}" has no credentials; give ${form}`);
    return undefined;
  }
  u.username = "";
  u.password = "";
  const apiUrl = u.toString().replace(/\/+$/, "");
  return { kind: kind as BrokerKind, apiUrl, username, password, pollMs: pollMs ?? 5000 };
}

const MAX_BODY_CEILING = 1 << 30;
const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kib: 1024, mib: 1 << 20, gib: 1 << 30, kb: 1000, mb: 1e6, gb: 1e9, k: 1024, m: 1 << 20, g: 1 << 30 };

/** A size in bytes: plain bytes, or a number with a unit (KiB, MiB, GiB; KB, MB, GB; K, M, G as binary). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

/** Hides the password of a URL so it can be logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
  }
}
