/**
 * The console's only way to the service: same-origin fetch with the standalone token from the
 * tab's session storage. An error answer becomes an ApiError carrying the API's own message.
 */

const TOKEN_KEY = "mgc.token";
const DOMAIN_KEY = "mgc.domain";
const RECENT_KEY = "mgc.recentDomains";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(v: string | null) {
    if (v === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, v);
  },
  get domain(): string | null {
    return sessionStorage.getItem(DOMAIN_KEY);
  },
  set domain(v: string | null) {
    if (v === null) sessionStorage.removeItem(DOMAIN_KEY);
    else {
      sessionStorage.setItem(DOMAIN_KEY, v);
      // Domain ids are no secret: the recent ones outlive the tab.
      const recent = [v, ...recentDomains().filter((d) => d !== v)].slice(0, 8);
      localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
    }
  },
};

export function recentDomains(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((d): d is string => typeof d === "string") : [];
  } catch {
    return [];
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, shaped by each caller
export async function api<T = any>(method: string, path: string, body?: unknown, token = session.token): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "the service cannot be reached");
  }
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, typeof json?.message === "string" ? json.message : `HTTP ${res.status}`);
  return json as T;
}

/** `/{domain}/…` with each segment encoded. */
export const inDomain = (...parts: string[]) => `/${[session.domain ?? "", ...parts].map(encodeURIComponent).join("/")}`;

export const query = (q: Record<string, string | number | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};
