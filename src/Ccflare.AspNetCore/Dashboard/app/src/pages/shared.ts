import { Account, Analytics, TimePoint } from "../api";
import { fmtCountdown, fmtInt, fmtPct, fmtTime, h, select } from "../dom";
import { SeriesSpec, timeChart } from "../charts";

export const ranges: Array<[string, string]> = [["1h", "Last hour"], ["6h", "Last 6 hours"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"]];

export function rangeSelect(value: string, onChange: (v: string) => void): HTMLSelectElement {
  const el = select(ranges, value, { "aria-label": "Time range", name: "range" });
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export function metric(label: string, value: string, testId: string, sub?: string): HTMLElement {
  return h("div", { className: "metric", "data-testid": testId, role: "group", "aria-label": label },
    h("div", { className: "metric-label" }, label),
    h("div", { className: "metric-value" }, value),
    sub ? h("div", { className: "metric-sub" }, sub) : null);
}

export type ChartKind = "requests" | "responseTime" | "tokens" | "cost" | "rates" | "speed";

/**
 * Builds the standard time-series charts from a GET /api/analytics response. Buckets are epoch
 * milliseconds and only buckets with requests are present. With meta.modelBreakdown the series
 * holds one point per (bucket, model): every chart then draws one line per model (for rates, the
 * error rate), with gaps where a model had no requests in a bucket.
 */
export function analyticsCharts(data: Analytics, which: ChartKind[], fmt: {
  ms: (v: number) => string; usd: (v: number) => string; int: (v: number) => string; pct: (v: number) => string; rate: (v: number) => string;
}): { els: HTMLElement[]; dispose: () => void } {
  const points = data.timeSeries;
  const buckets = [...new Set(points.map((p) => p.ts))].sort((a, b) => a - b);
  const slot = new Map(buckets.map((ts, i) => [ts, i]));
  const x = buckets.map((ts) => ts / 1000);
  const breakdown = data.meta.modelBreakdown;
  const models = breakdown ? [...new Set(points.map((p) => p.model ?? "unknown"))] : [];
  const column = (value: (p: TimePoint) => number, model?: string): Array<number | null> => {
    const values: Array<number | null> = buckets.map(() => null);
    for (const p of points) {
      if (model === undefined || (p.model ?? "unknown") === model) values[slot.get(p.ts)!] = value(p);
    }
    return values;
  };
  const per = (label: string, value: (p: TimePoint) => number, bars = false): SeriesSpec[] => breakdown
    ? models.map((m) => ({ label: m, values: column(value, m) }))
    : [{ label, values: column(value), bars }];
  const charts = which.map((kind) => {
    switch (kind) {
      case "requests": return timeChart({ title: "Request volume", x, series: per("Requests", (p) => p.requests, !data.meta.cumulative), format: fmt.int });
      case "responseTime": return timeChart({ title: "Response time", x, series: per("Avg response time", (p) => p.avgResponseTime), format: fmt.ms });
      case "tokens": return timeChart({ title: "Token usage", x, series: per("Tokens", (p) => p.tokens), format: fmt.int });
      case "cost": return timeChart({ title: "Cost", x, series: per("Cost (USD)", (p) => p.costUsd), format: fmt.usd });
      case "rates": return breakdown
        ? timeChart({ title: "Error rate", x, series: per("Error rate", (p) => p.errorRate), format: fmt.pct })
        : timeChart({ title: "Success and error rate", x, series: [
          { label: "Success rate", values: column((p) => p.successRate) },
          { label: "Error rate", values: column((p) => p.errorRate) },
          { label: "Cache hit rate", values: column((p) => p.cacheHitRate) }], format: fmt.pct });
      case "speed": return timeChart({ title: "Output token speed", x, series: per("Avg tokens/s", (p) => p.avgTokensPerSecond), format: fmt.rate });
    }
  });
  return { els: charts.map((c) => c.el), dispose: () => charts.forEach((c) => c.dispose()) };
}

/** Rate-limit state of one account: status badge, remaining, and a reset countdown. */
export function rateLimitCell(a: Account): HTMLElement {
  const limited = a.rateLimitStatus?.isLimited;
  const code = a.rateLimitStatus?.code ?? "ok";
  const soft = /warning|soft|paused/i.test(code);
  const badge = h("span", { className: `badge ${limited ? "bad" : soft ? "warn" : "good"}` }, limited ? `Limited (${code})` : code);
  const reset = a.rateLimitStatus?.until ?? a.rateLimitReset;
  return h("div", { className: "ratelimit" }, badge,
    a.rateLimitRemaining !== null && a.rateLimitRemaining !== undefined ? h("span", { className: "muted" }, ` ${fmtInt(a.rateLimitRemaining)} remaining`) : null,
    reset ? h("span", { className: "countdown muted", "data-reset": String(reset) }, ` · resets in ${fmtCountdown(reset)}`) : null);
}

/** Progress of an account's window: how much of the session/rate-limit window has elapsed. */
export function windowProgress(a: Account, sessionMs: number): HTMLElement | null {
  const reset = a.rateLimitStatus?.until ?? a.rateLimitReset;
  let pct: number | null = null;
  let label = "";
  if (reset && a.sessionInfo?.startedAt) {
    const start = new Date(a.sessionInfo.startedAt).getTime();
    const end = new Date(reset).getTime();
    if (end > start) { pct = Math.min(100, Math.max(0, ((Date.now() - start) / (end - start)) * 100)); label = "Rate-limit window elapsed"; }
  } else if (a.sessionInfo?.active && a.sessionInfo.startedAt) {
    pct = Math.min(100, ((Date.now() - new Date(a.sessionInfo.startedAt).getTime()) / sessionMs) * 100);
    label = "Session elapsed";
  }
  if (pct === null) return null;
  return h("div", { className: "progress-wrap" },
    h("progress", { max: 100, value: Math.round(pct), "aria-label": `${label} for ${a.name}` }),
    h("small", { className: "muted" }, `${label}: ${fmtPct(pct)}`));
}

/**
 * Re-renders every countdown on the page (elements with data-reset, text data-prefix + countdown) once a
 * second; onPassed runs once when a countdown reaches its instant, so the page can read the fresh state.
 */
export function tickCountdowns(root: HTMLElement, onPassed?: () => void): () => void {
  const timer = window.setInterval(() => {
    let passed = false;
    for (const el of root.querySelectorAll<HTMLElement>("[data-reset]")) {
      const text = fmtCountdown(el.dataset.reset ?? null);
      if (text === "now" && el.dataset.passed === undefined) { el.dataset.passed = ""; passed = true; }
      el.textContent = `${el.dataset.prefix ?? " · resets in "}${text}`;
    }
    if (passed) onPassed?.();
  }, 1000);
  return () => window.clearInterval(timer);
}

/** A window length in minutes as "5h", "7d" or "90m". */
function windowLength(minutes: number | null): string | null {
  if (!minutes) return null;
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** A utilization fraction (0..1) as a percentage with at most one decimal. */
export function fmtUtilization(u: number | null | undefined): string {
  return u === null || u === undefined ? "–" : fmtPct(Math.round(u * 1000) / 10);
}

/**
 * One bar per usage window of the account: how full it is, and a live countdown to its reset. The bar is
 * red for the window that makes the account near its limit (the server's decision) or a rejected one,
 * amber while the provider warns.
 */
export function usageBars(a: Account): HTMLElement {
  const usage = a.usage;
  if (!usage || usage.windows.length === 0) {
    return h("span", { className: "muted", "data-testid": "usage-none" }, usage ? "No windows reported" : "No usage reported yet");
  }
  return h("ul", { className: "usage-windows", "aria-label": `Usage windows of ${a.name}` }, usage.windows.map((w) => {
    const pct = w.utilization === null ? null : Math.min(100, Math.max(0, w.utilization * 100));
    const tone = a.nearLimitWindow === w.name || w.status === "rejected" ? "bad" : w.status === "allowed_warning" ? "warn" : "good";
    const length = windowLength(w.windowMinutes);
    const shown = fmtUtilization(w.utilization);
    return h("li", { className: "usage-window", "data-window": w.name, "data-testid": `window-${w.name}` },
      h("div", { className: "usage-head" },
        h("span", { className: "usage-name" }, w.name, length ? h("small", { className: "muted" }, ` ${length}`) : null),
        h("span", { className: "usage-pct", "data-testid": "usage-pct" }, shown)),
      h("div", { className: `usage-bar ${tone}`, role: "meter", "aria-label": `${w.name} window of ${a.name}`, "aria-valuemin": 0, "aria-valuemax": 100,
        "aria-valuenow": pct === null ? null : Math.round(pct * 10) / 10, "aria-valuetext": pct === null ? "unknown" : `${shown} used` },
        h("span", { style: `width:${pct ?? 0}%` })),
      w.resetsAt
        ? h("small", { className: "countdown muted", "data-reset": w.resetsAt, "data-prefix": "resets in ", "data-testid": "usage-reset", title: fmtTime(w.resetsAt) }, `resets in ${fmtCountdown(w.resetsAt)}`)
        : h("small", { className: "muted" }, "reset not reported"));
  }));
}

/** The near-limit badge: the account is the strategies' last resort until the named window resets. */
export function nearLimitBadge(a: Account): HTMLElement | null {
  if (!a.nearLimit) return null;
  return h("span", { className: "badge bad", "data-testid": "near-limit",
    title: `${a.nearLimitWindow ?? "A window"} is at or above the switch threshold (or rejected): the account is used only when no account at any priority has headroom, until it resets.` },
    a.nearLimitWindow ? `Near limit: ${a.nearLimitWindow}` : "Near limit");
}

/** Remaining capacity of one provider's accounts (see capacityByProvider). */
export interface ProviderCapacity {
  provider: string;
  /** Active accounts (not paused, provider configured). */
  accounts: number;
  /** Active accounts whose headroom is known. */
  reporting: number;
  /** Sum of the reporting accounts' headroom, in whole accounts. */
  remaining: number;
  nearLimit: number;
}

/**
 * Remaining capacity per provider: the sum over its active accounts of each account's headroom (the free
 * share of its fullest window that limits every model, computed by the server), so 1.5 means one and a
 * half accounts' worth of window left. Paused accounts and unconfigured providers are left out; accounts
 * that have not reported usage are counted apart.
 */
export function capacityByProvider(accounts: Account[]): ProviderCapacity[] {
  const byProvider = new Map<string, ProviderCapacity>();
  for (const a of accounts) {
    if (a.paused || a.providerConfigured === false) continue;
    let row = byProvider.get(a.provider);
    if (!row) { row = { provider: a.provider, accounts: 0, reporting: 0, remaining: 0, nearLimit: 0 }; byProvider.set(a.provider, row); }
    row.accounts += 1;
    if (a.nearLimit) row.nearLimit += 1;
    if (a.headroom !== null && a.headroom !== undefined) { row.reporting += 1; row.remaining += a.headroom; }
  }
  return [...byProvider.values()].sort((x, y) => x.provider.localeCompare(y.provider));
}
