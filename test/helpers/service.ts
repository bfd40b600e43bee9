import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/log/logger.ts";
import { type RunningService, type StartOptions, startService } from "../../src/main.ts";
import { dbEnv, releaseDatabaseOf, type Store, storeOf } from "./backend.ts";

export interface TestService {
  url: string;
  /** localhost:<gRPC port> */
  grpcAddress: string;
  token: string;
  dataDir: string;
  /** The SQLite file, when the service runs on SQLite (the data directory's clients.db either way). */
  dbPath: string;
  /** Where its rows are (queryStore reads them on either backend). */
  store: Store;
  service: RunningService;
  /** Every log line the service wrote. */
  logs: string[];
  stop(): Promise<void>;
  /** Stops the service and deletes its data directory. */
  dispose(): Promise<void>;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export function tempDir(prefix = "mgc-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts the real service in-process on a free port with its own data directory, on the test
 * backend (test/helpers/backend.ts: a SQLite file there, or a Postgres database of its own).
 * `env` may point it elsewhere (MG_CLIENTS_DB_DRIVER and friends).
 */
export async function startTestService(env: Record<string, string> = {}, dataDir = tempDir(), options: StartOptions = {}): Promise<TestService> {
  const dbPath = join(dataDir, "clients.db");
  const fullEnv: Record<string, string> = {
    MG_CLIENTS_HTTP_PORT: "0",
    MG_CLIENTS_GRPC_PORT: "0",
    MG_CLIENTS_HOOKS_PORT: "",
    ...(env.MG_CLIENTS_DB_DRIVER ? { MG_CLIENTS_DB_PATH: dbPath } : await dbEnv(dataDir)),
    MG_CLIENTS_ES_URL: "",
    MG_CLIENTS_LOG_LEVEL: "info",
    ...env,
  };
  const config = loadConfig(fullEnv);
  const logs: string[] = [];
  const service = await startService(
    config,
    createLogger(config.logLevel, (line) => logs.push(line)),
    options,
  );
  const token = env.MG_CLIENTS_STANDALONE_TOKEN ?? readFileSync(join(dataDir, "standalone.token"), "utf8").trim();
  const url = service.httpUrl;
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    request(url, method, path, body, { authorization: `Bearer ${token}`, ...headers });
  return {
    url,
    grpcAddress: `localhost:${service.grpcPort}`,
    token,
    dataDir,
    dbPath,
    store: storeOf(fullEnv),
    service,
    logs,
    api,
    stop: () => service.stop(),
    async dispose() {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await releaseDatabaseOf(dataDir);
    },
  };
}

/**
 * One HTTP request over a real socket. A non-string body is sent as JSON with
 * `Content-Type: application/json` unless the caller sets the header.
 */
export async function request(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const h: Record<string, string> = { ...headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
  }
  const res = await fetch(base + path, { method, body: payload, headers: h });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
