// Management API client. Every URL is relative to the dashboard's base (the <base href> the
// server injects), so the dashboard works at "/" and under any host prefix such as "/llm/".

export interface RateLimitStatus { code: string; isLimited: boolean; until: string | null }
export interface Account {
  id: string; name: string; provider: string; auth_method: string; base_url: string | null;
  requestCount: number; totalRequests: number; lastUsed: string | null; created: string;
  weight: number; paused: boolean; tokenStatus: string; tokenExpiresAt: string | null;
  rateLimitStatus: RateLimitStatus; rateLimitReset: string | null; rateLimitRemaining: number | null;
  sessionInfo: { active: boolean; startedAt: string | null; requestCount: number };
  /** False when the account's provider is no longer served: the account is kept but never selected. */
  providerConfigured?: boolean;
  /** 0 is the most preferred level. */
  priority?: number;
  /** What the provider last reported about the account's usage windows; null until a response carried any. */
  usage?: AccountUsage | null;
  /** The server's near-limit rule (the strategies' own): a window at or above the switch threshold, or rejected, until it resets. */
  nearLimit?: boolean;
  /** The window that puts the account near its limit (a window scoped to a model family limits only that family). */
  nearLimitWindow?: string | null;
  /** Free share (0..1) of the fullest window that limits every model; null without such a reading. */
  headroom?: number | null;
}
/** One usage window: utilization is a fraction 0..1. */
export interface UsageWindow { name: string; windowMinutes: number | null; utilization: number | null; resetsAt: string | null; status: string | null }
export interface AccountUsage {
  updatedAt: string; status: string | null; resetsAt: string | null; representativeClaim: string | null;
  windows: UsageWindow[]; overage: { status: string | null; resetsAt: string | null } | null; fallbackPercentage: number | null;
}
/** A row of GET /api/providers. */
export interface Provider { name: string; displayName: string; family: string; authMethods: string[]; builtIn: boolean; baseUrl: string }
/** A row of GET /api/requests (and the payload of a "summary" stream event). */
export interface RequestSummary {
  id: string; timestamp: string; method: string; path: string; provider: string | null; upstreamPath: string | null;
  accountUsed: string | null; accountName: string | null; statusCode: number | null; success: boolean;
  errorMessage: string | null; responseTimeMs: number | null; failoverAttempts: number; model: string | null;
  promptTokens: number | null; completionTokens: number | null; totalTokens: number | null; inputTokens: number | null;
  outputTokens: number | null; cacheReadInputTokens: number | null; cacheCreationInputTokens: number | null;
  reasoningTokens: number | null; costUsd: number | null; tokensPerSecond: number | null; ttftMs: number | null;
  proxyOverheadMs: number | null; upstreamTtfbMs: number | null; streamingDurationMs: number | null;
  responseId: string | null; previousResponseId: string | null; responseChainId: string | null; clientSessionId: string | null;
  userId: string | null; userName: string | null;
  /** Ccflare: the response reported tokens but the model has no price, so costUsd is 0. */
  costUnknown: boolean;
  costEstimated: boolean;
  /** Set by the dashboard while only the "ingress"/"start" events have arrived. */
  pending?: boolean;
}
/**
 * GET /api/requests/stream data lines (after "event: connected"), ccflare's four kinds: "ingress" when a
 * request arrives, "start" when the upstream's status is known, "summary" with its /api/requests row
 * once the row has been written and "payload" with its /api/requests/detail item. Timestamps are epoch ms.
 */
export type RequestStreamEvent =
  | { type: "ingress"; id: string; timestamp: number; method: string; path: string }
  | { type: "start"; id: string; timestamp: number; method: string; path: string; accountId: string | null; statusCode: number | null }
  | { type: "summary"; payload: RequestSummary }
  | { type: "payload"; payload: RequestDetail };
/**
 * GET /api/requests/{id}, the items of GET /api/requests/detail and of GET /api/requests/{id}/conversation
 * (ccflare's shape): bodies base64, credentials masked; response is null when no status was recorded.
 */
export interface RequestDetail {
  id: string;
  request: { headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string | null; truncated: boolean } | null;
  error?: string;
  meta: {
    trace: {
      /** epoch ms */ timestamp: number; method: string; path: string; provider?: string; upstreamPath?: string;
      responseId: string | null; previousResponseId: string | null; responseChainId: string | null; clientSessionId: string | null;
      model: string | null;
    };
    account: { id: string | null; name: string | null };
    transport: {
      success: boolean; rateLimited: boolean; accountsAttempted: number; pending: boolean; retry: number; isStream: boolean;
      ttftMs: number | null; proxyOverheadMs: number | null; upstreamTtfbMs: number | null; streamingDurationMs: number | null;
      accountIdsAttempted: string[];
    };
  };
}
/** Totals of GET /api/stats and of GET /api/analytics ("totals", where ccflare names the count "requests"). Rates are percentages (0-100). */
export interface Totals {
  requests?: number; totalRequests: number; successRate: number; activeAccounts: number; avgResponseTime: number;
  totalTokens: number; totalCostUsd: number; avgTokensPerSecond: number;
}
export interface Stats extends Totals {
  topModels: Array<{ model: string; count: number }>;
  accounts: Array<{ name: string; requestCount: number; successRate: number }>;
  recentErrors: string[];
  writeQueue: { pending: number; inFlight: number; written: number; droppedRows: number; droppedPayloads: number; failedWrites: number };
}
/** One time-series bucket: ts is the bucket start in epoch ms; model is set only with modelBreakdown=true. */
export interface TimePoint {
  ts: number; model?: string | null; requests: number; tokens: number; costUsd: number; successRate: number; errorRate: number;
  cacheHitRate: number; avgResponseTime: number; avgTokensPerSecond: number;
}
export interface Analytics {
  meta: { range: string; bucket: string; cumulative: boolean; modelBreakdown: boolean };
  totals: Totals & { requests: number };
  timeSeries: TimePoint[];
  tokenBreakdown: { inputTokens: number; cacheReadInputTokens: number; cacheCreationInputTokens: number; outputTokens: number };
  modelDistribution: Array<{ model: string; count: number }>;
  accountPerformance: Array<{ name: string; requests: number; successRate: number }>;
  costByModel: Array<{ model: string; costUsd: number; requests: number; totalTokens: number }>;
  /** Token speeds are 0 when no row of the model had one. */
  modelPerformance: Array<{ model: string; avgResponseTime: number; p95ResponseTime: number; errorRate: number;
    avgTokensPerSecond: number; minTokensPerSecond: number; maxTokensPerSecond: number }>;
  providerBreakdown: Array<{ provider: string; requests: number; successRate: number; totalTokens: number; totalCostUsd: number }>;
}
/** GET /api/logs/history items and GET /api/logs/stream data lines: ccflare's {ts (epoch ms), level, msg}, then Ccflare's fields. */
export interface LogEntry {
  ts: number; level: "DEBUG" | "INFO" | "WARN" | "ERROR"; msg: string;
  timestamp: string; component: string; metadata: Record<string, string | null> | null;
}
export interface Config { lbStrategy: string; port: number; sessionDurationMs: number }
export interface Retention { payloadDays: number; requestDays: number }

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
 * Subscribes to one of Ccflare's server-sent event streams. Once it has registered the subscriber (so
 * nothing published after onConnected is missed) Ccflare sends "event: connected" (requests stream) or,
 * as ccflare does on its log stream, an unnamed {"connected": true} line; then unnamed "data: {json}" lines. onConnected runs again after every automatic reconnect, so the
 * caller can fill the gap; onClosed runs when the stream is unavailable (the caller can poll).
 */
export function subscribe<T>(path: string, handlers: { onConnected: () => void; onData: (data: T) => void; onClosed: () => void }): () => void {
  if (typeof EventSource === "undefined") { handlers.onClosed(); return () => undefined; }
  const source = new EventSource(apiUrl(path), { withCredentials: true });
  source.addEventListener("connected", () => handlers.onConnected());
  source.onmessage = (e: MessageEvent<string>) => {
    let data: T;
    try { data = JSON.parse(e.data) as T; } catch { return; }
    if (typeof data === "object" && data !== null && (data as { connected?: unknown }).connected === true) { handlers.onConnected(); return; }
    handlers.onData(data);
  };
  let closedReported = false;
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && !closedReported) {
      closedReported = true;
      handlers.onClosed();
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
