import type { Config } from "../config/config.ts";

/** The URL of the service's own /health, reachable from the same host whatever it listens on. */
export function localHealthUrl(http: Pick<Config["http"], "host" | "port" | "tls">): string {
  let host = http.host;
  if (host === "" || host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "::1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `${http.tls ? "https" : "http"}://${host}:${http.port}/health`;
}

export interface HealthResult {
  healthy: boolean;
  /** One line for the operator. */
  message: string;
}

/**
 * GET /health; healthy only on 200 with `"status":"pass"`. TLS certificates are not verified: this
 * asks our own process on this host whether it is alive, often over a self-signed certificate.
 */
export async function checkHealth(url: string, timeoutMs: number): Promise<HealthResult> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), tls: { rejectUnauthorized: false } } as RequestInit);
  } catch (err) {
    const reason = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    return { healthy: false, message: `unhealthy: cannot reach ${url}: ${reason}` };
  }
  const body = (await res.json().catch(() => undefined)) as { status?: unknown; version?: unknown; instance_id?: unknown } | undefined;
  if (res.status === 200 && body?.status === "pass")
    return { healthy: true, message: `pass: ${url} (version ${String(body.version)}, instance ${String(body.instance_id)})` };
  const status = typeof body?.status === "string" ? ` status "${body.status}"` : "";
  return { healthy: false, message: `unhealthy: ${url} answered HTTP ${res.status}${status}` };
}
