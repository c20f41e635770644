import { Account, Analytics, TimePoint } from "../api";
import { fmtCountdown, fmtInt, fmtPct, h, select } from "../dom";
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

/** Re-renders every countdown on the page once a second. */
export function tickCountdowns(root: HTMLElement): () => void {
  const timer = window.setInterval(() => {
    for (const el of root.querySelectorAll<HTMLElement>("[data-reset]")) {
      el.textContent = ` · resets in ${fmtCountdown(el.dataset.reset ?? null)}`;
    }
  }, 1000);
  return () => window.clearInterval(timer);
}
