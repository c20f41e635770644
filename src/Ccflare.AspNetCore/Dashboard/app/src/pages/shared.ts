import { Account, Analytics } from "../api";
import { fmtCountdown, fmtInt, fmtPct, h, select } from "../dom";
import { timeChart, toSeconds } from "../charts";

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

/** Builds the standard time-series charts from an analytics response. */
export function analyticsCharts(data: Analytics, which: Array<"requests" | "responseTime" | "tokens" | "cost" | "rates" | "speed">, fmt: {
  ms: (v: number) => string; usd: (v: number) => string; int: (v: number) => string; pct: (v: number) => string; rate: (v: number) => string;
}): { els: HTMLElement[]; dispose: () => void } {
  const x = data.timeSeries.map((p) => toSeconds(p.ts));
  const charts = which.map((kind) => {
    switch (kind) {
      case "requests": return timeChart({ title: "Request volume", x, series: [{ label: "Requests", values: data.timeSeries.map((p) => p.requests), bars: !data.meta.cumulative }], format: fmt.int });
      case "responseTime": return timeChart({ title: "Response time", x, series: [{ label: "Avg response time", values: data.timeSeries.map((p) => p.avgResponseTime) }], format: fmt.ms });
      case "tokens": return timeChart({ title: "Token usage", x, series: [{ label: "Tokens", values: data.timeSeries.map((p) => p.tokens) }], format: fmt.int });
      case "cost": return timeChart({ title: "Cost", x, series: [{ label: "Cost (USD)", values: data.timeSeries.map((p) => p.costUsd) }], format: fmt.usd });
      case "rates": return timeChart({ title: "Success and error rate", x, series: [
        { label: "Success rate", values: data.timeSeries.map((p) => p.successRate) },
        { label: "Error rate", values: data.timeSeries.map((p) => p.errorRate) },
        { label: "Cache hit rate", values: data.timeSeries.map((p) => p.cacheHitRate) }], format: fmt.pct });
      case "speed": return timeChart({ title: "Output token speed", x, series: [{ label: "Avg tokens/s", values: data.timeSeries.map((p) => p.avgTokensPerSecond) }], format: fmt.rate });
    }
  });
  return { els: charts.map((c) => c.el), dispose: () => charts.forEach((c) => c.dispose()) };
}

/** Rate-limit state of one account: status badge, remaining, and a reset countdown. */
export function rateLimitCell(a: Account): HTMLElement {
  const limited = a.rateLimitStatus?.isLimited;
  const code = a.rateLimitStatus?.code ?? "OK";
  const soft = /warning|soft/i.test(code);
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
