// Management API client. Every URL is relative to the dashboard's base (the <base href> the
// server injects), so the dashboard works at "/" and under any host prefix such as "/llm/".

export interface RateLimitStatus { code: string; isLimited: boolean; until: string | null }
export interface Account {
  id: string; name: string; provider: string; auth_method: string; base_url: string | null;
  requestCount: number; totalRequests: number; lastUsed: string | null; created: string;
  weight: number; paused: boolean; tokenStatus: string; tokenExpiresAt: string | null;
  rateLimitStatus: RateLimitStatus; rateLimitReset: string | null; rateLimitRemaining: number | null;
  sessionInfo: { active: boolean; startedAt: string | null; requestCount: number };
}
export interface RequestSummary {
  id: string; timestamp: string; method: string; path: string; provider: string | null; upstreamPath: string | null;
  accountUsed: string | null; accountName: string | null; statusCode: number | null; success: boolean;
  errorMessage: string | null; responseTimeMs: number | null; failoverAttempts: number; model: string | null;
  promptTokens: number | null; completionTokens: number | null; totalTokens: number | null; inputTokens: number | null;
  outputTokens: number | null; cacheReadInputTokens: number | null; cacheCreationInputTokens: number | null;
  reasoningTokens: number | null; costUsd: number | null; tokensPerSecond: number | null; ttftMs: number | null;
  proxyOverheadMs: number | null; upstreamTtfbMs: number | null; streamingDurationMs: number | null;
  userId: string | null; userName: string | null;
  /** Set by the dashboard while only the "start" event has arrived. */
  pending?: boolean;
}
export interface RequestDetail {
  id: string;
  request: { headers: Record<string, string>; body: string | null };
  response: { status: number | null; headers: Record<string, string>; body: string | null } | null;
  meta: { accountId?: string | null; accountName?: string | null; retry?: number; timestamp?: string | number;
    success?: boolean; rateLimited?: boolean; accountsAttempted?: string[] | number; truncated?: boolean };
}
export interface Stats {
  totalRequests: number; successRate: number; activeAccounts: number; avgResponseTime: number;
  totalTokens: number; totalCostUsd: number; avgTokensPerSecond: number | null; topModels: Array<{ model: string; count: number }>;
}
export interface TimePoint {
  ts: string | number; requests: number; tokens: number; costUsd: number; successRate: number; errorRate: number;
  cacheHitRate: number; avgResponseTime: number; avgTokensPerSecond: number;
}
export interface Analytics {
  meta: { range: string; bucket: string; cumulative: boolean };
  totals: Partial<Stats> & { totalRequests?: number };
  timeSeries: TimePoint[];
  tokenBreakdown: { inputTokens: number; cacheReadInputTokens: number; cacheCreationInputTokens: number; outputTokens: number };
  modelDistribution: Array<{ model: string; count: number }>;
  accountPerformance: Array<{ name: string; requests: number; successRate: number }>;
  costByModel: Array<{ model: string; costUsd: number; requests: number; totalTokens: number }>;
  modelPerformance: Array<{ model: string; avgResponseTime: number; p95ResponseTime: number; errorRate: number;
    avgTokensPerSecond: number | null; minTokensPerSecond: number | null; maxTokensPerSecond: number | null }>;
}
export interface LogEntry { timestamp: string | number; level: string; component?: string; message: string; metadata?: unknown }
export interface Config { lbStrategy: string; port: number; sessionDurationMs: number }
export interface Retention { payloadDays: number; requestDays: number }
export interface User { id: string; name: string }

export class ApiError extends Error {
  constructor(public readonly status: number, message: string) { super(message); }
}

/** The dashboard's base URL, always ending with "/". */
export function baseUrl(): URL {
  return new URL(".", document.baseURI);
}

export function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ""), baseUrl()).toString();
}

async function readError(res: Response): Promise<string> {
  try {
    const body = await res.json() as { error?: string; message?: string };
    return body.error ?? body.message ?? `${res.status} ${res.statusText}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

/** GET that resolves to null when the endpoint does not exist (404/405/501) so pages can show an empty state. */
export async function getOptional<T>(path: string, signal?: AbortSignal): Promise<T | null> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { headers: { accept: "application/json" }, signal, credentials: "same-origin" });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    return null;
  }
  if (res.status === 404 || res.status === 405 || res.status === 501) return null;
  if (!res.ok) throw new ApiError(res.status, await readError(res));
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("json")) return null;
  return await res.json() as T;
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const value = await getOptional<T>(path, signal);
  if (value === null) throw new ApiError(404, `${path} is not available on this server.`);
  return value;
}

export async function send<T = { success?: boolean; message?: string }>(method: "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const res = await fetch(apiUrl(path), {
    method,
    headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!res.ok) throw new ApiError(res.status, await readError(res));
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Subscribes to a server-sent event stream. Calls onEvent with (eventName, parsedData) and
 * onClosed when the stream is unavailable (the caller can fall back to polling).
 */
export function subscribe(path: string, onEvent: (name: string, data: unknown) => void, onClosed: () => void): () => void {
  if (typeof EventSource === "undefined") { onClosed(); return () => undefined; }
  const source = new EventSource(apiUrl(path), { withCredentials: true });
  const handle = (name: string) => (e: MessageEvent) => {
    let data: unknown = e.data;
    try { data = JSON.parse(e.data as string); } catch { /* keep text */ }
    onEvent(name, data);
  };
  source.onmessage = handle("message");
  for (const name of ["start", "finish", "summary", "payload", "request", "log", "ingest"]) {
    source.addEventListener(name, handle(name) as EventListener);
  }
  let closedReported = false;
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && !closedReported) {
      closedReported = true;
      onClosed();
    }
  };
  return () => source.close();
}

/** Decodes a base64 body to text (UTF-8), or returns it unchanged when it is not base64. */
export function decodeBody(body: string | null | undefined): string {
  if (!body) return "";
  try {
    const bin = atob(body);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  } catch {
    return body;
  }
}
