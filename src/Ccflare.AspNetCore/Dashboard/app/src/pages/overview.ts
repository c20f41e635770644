import { Account, Analytics, get, getOptional, Retention, send, Stats } from "../api";
import { barList } from "../charts";
import { card, emptyState, field, fmtCompact, fmtInt, fmtMs, fmtPct, fmtRate, fmtUsd, h, replace, toast } from "../dom";
import { analyticsCharts, capacityByProvider, fmtUtilization, metric, nearLimitBadge, rangeSelect, rateLimitCell, tickCountdowns } from "./shared";

const fmts = { ms: fmtMs, usd: fmtUsd, int: fmtCompact, pct: fmtPct, rate: (v: number) => (Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0)) };

export function overviewPage(root: HTMLElement): () => void {
  let range = "24h";
  let chartGeneration = 0;
  let disposeCharts = () => undefined as void;
  const abort = new AbortController();
  const cards = h("div", { className: "metrics", "aria-live": "polite" });
  const charts = h("div", { className: "chart-grid" });
  const limits = h("div");
  const capacity = h("div");
  const models = h("div");
  const retention = h("div");
  const system = h("div");
  const toolbar = h("div", { className: "toolbar" }, rangeSelect(range, (v) => { range = v; void loadCharts(); }));

  replace(root, toolbar, cards,
    card("Remaining capacity", capacity),
    card("Activity", charts),
    h("div", { className: "two-col" },
      card("Rate limits by account", limits),
      card("Top models", models)),
    h("div", { className: "two-col" },
      card("Data retention", retention),
      card("System status", system)));

  async function loadStats(): Promise<void> {
    try {
      const stats = await getOptional<Stats>("api/stats", abort.signal);
      if (!stats) { replace(cards, emptyState("Statistics are not available on this server.")); return; }
      replace(cards,
        metric("Total requests", fmtInt(stats.totalRequests), "stat-total-requests"),
        metric("Success rate", fmtPct(stats.successRate), "stat-success-rate"),
        metric("Active accounts", fmtInt(stats.activeAccounts), "stat-active-accounts"),
        metric("Avg response time", fmtMs(stats.avgResponseTime), "stat-avg-response"),
        metric("Total tokens", fmtInt(stats.totalTokens), "stat-total-tokens"),
        metric("Total cost", fmtUsd(stats.totalCostUsd), "stat-total-cost"),
        metric("Avg output speed", fmtRate(stats.avgTokensPerSecond), "stat-token-speed"));
      const q = stats.writeQueue;
      const lost = q.droppedRows + q.droppedPayloads + q.failedWrites;
      replace(system, h("dl", { className: "kv", "aria-label": "History write queue", "data-testid": "write-queue" },
        ([["Queued", q.pending + q.inFlight], ["Written since start", q.written], ["Dropped rows", q.droppedRows],
          ["Dropped payloads", q.droppedPayloads], ["Failed writes", q.failedWrites]] as Array<[string, number]>)
          .flatMap(([k, v]) => [h("dt", null, k), h("dd", null, fmtInt(v))])),
        h("p", { className: lost ? "badge warn" : "muted" }, lost ? "Some history was not recorded (see logs)." : "Every finished request is being recorded."),
        stats.recentErrors.length
          ? h("ul", { className: "recent-errors", "aria-label": "Recent errors", "data-testid": "recent-errors" }, stats.recentErrors.map((e) => h("li", null, e)))
          : h("p", { className: "muted", "data-testid": "recent-errors" }, "No recent errors."));
      replace(models, stats.topModels.length
        ? barList("Top models", stats.topModels.map((m) => ({ label: m.model, value: m.count, text: fmtInt(m.count) })))
        : emptyState("No model usage yet."));
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(cards, emptyState(`Could not load statistics: ${(e as Error).message}`));
    }
  }

  async function loadCharts(): Promise<void> {
    try {
      const mine = ++chartGeneration;
      const data = await getOptional<Analytics>(`api/analytics?range=${range}`, abort.signal);
      if (mine !== chartGeneration) return; // a newer range was chosen meanwhile
      disposeCharts();
      if (!data || !data.timeSeries.length) { replace(charts, emptyState("No requests in this time range.")); disposeCharts = () => undefined; return; }
      const built = analyticsCharts(data, ["requests", "responseTime", "tokens", "cost"], fmts);
      replace(charts, built.els);
      disposeCharts = built.dispose;
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(charts, emptyState(`Could not load analytics: ${(e as Error).message}`));
    }
  }

  async function loadAccounts(): Promise<void> {
    try {
      const accounts = await get<Account[]>("api/accounts", abort.signal);
      replace(limits, accounts.length === 0 ? emptyState("No accounts yet. Add one on the Accounts page.") :
        h("table", { className: "table", "aria-label": "Rate limits by account" },
          h("thead", null, h("tr", null, h("th", { scope: "col" }, "Account"), h("th", { scope: "col" }, "Provider"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Rate limit"))),
          h("tbody", null, accounts.map((a) => h("tr", null,
            h("td", null, a.name), h("td", null, a.provider),
            h("td", null, h("span", { className: `badge ${a.paused ? "warn" : "good"}` }, a.paused ? "Paused" : "Active")),
            h("td", null, rateLimitCell(a), a.nearLimit ? h("div", null, nearLimitBadge(a)) : null))))));
      renderCapacity(accounts);
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(limits, emptyState(`Could not load accounts: ${(e as Error).message}`));
    }
  }

  function renderCapacity(accounts: Account[]): void {
    const rows = capacityByProvider(accounts);
    if (rows.length === 0) { replace(capacity, emptyState("No active accounts.")); return; }
    replace(capacity,
      h("p", { className: "muted capacity-note" },
        "Per provider: the sum over active accounts of each account's headroom, the free share (1 − utilization) of its fullest usage window that limits every model, in whole accounts. ",
        "The bar shows the mean over the accounts that report usage. Paused accounts are not counted."),
      h("table", { className: "table", "aria-label": "Remaining capacity by provider" },
        h("thead", null, h("tr", null, ["Provider", "Remaining", "Mean headroom", "Near limit", "No usage data"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, rows.map((r) => {
          const mean = r.reporting > 0 ? r.remaining / r.reporting : null;
          return h("tr", { "data-testid": `capacity-${r.provider}` },
            h("th", { scope: "row" }, r.provider),
            h("td", { "data-testid": "capacity-remaining" }, r.reporting > 0 ? `${r.remaining.toFixed(2)} of ${fmtInt(r.reporting)} account${r.reporting === 1 ? "" : "s"}` : "–"),
            h("td", { className: "usage-cell" }, mean === null ? h("span", { className: "muted" }, "–") : h("div", null,
              h("div", { className: "usage-head" }, h("span", { className: "usage-pct", "data-testid": "capacity-mean" }, fmtUtilization(mean))),
              h("div", { className: `usage-bar ${r.nearLimit >= r.accounts ? "bad" : r.nearLimit > 0 ? "warn" : "good"}`, role: "meter", "aria-label": `Mean headroom of ${r.provider}`,
                "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(mean * 1000) / 10 }, h("span", { style: `width:${mean * 100}%` })))),
            h("td", { className: "num", "data-testid": "capacity-near-limit" }, fmtInt(r.nearLimit)),
            h("td", { className: "num", "data-testid": "capacity-unknown" }, fmtInt(r.accounts - r.reporting)));
        }))));
  }

  async function loadRetention(): Promise<void> {
    const value = await getOptional<Retention>("api/config/retention", abort.signal).catch(() => null);
    if (!value) { replace(retention, emptyState("Retention settings are not available on this server.")); return; }
    const payloadDays = h("input", { type: "number", min: 1, max: 3650, value: value.payloadDays, name: "payloadDays", required: true });
    const requestDays = h("input", { type: "number", min: 1, max: 3650, value: value.requestDays, name: "requestDays", required: true });
    const form = h("form", { className: "inline-form", "aria-label": "Data retention" },
      field("Keep payloads (days)", payloadDays),
      field("Keep request history (days)", requestDays),
      h("button", { type: "submit" }, "Save retention"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const saved = await send<Retention>("POST", "api/config/retention", { payloadDays: Number(payloadDays.value), requestDays: Number(requestDays.value) });
        payloadDays.value = String(saved.payloadDays);
        requestDays.value = String(saved.requestDays);
        toast(`Retention saved: payloads ${saved.payloadDays} days, request history ${saved.requestDays} days`);
      } catch (err) { toast(`Could not save retention: ${(err as Error).message}`, "error"); }
    });
    replace(retention, h("p", { className: "muted" }, "Request bodies and headers are kept for fewer days than the request history itself."), form);
  }

  const loadAll = () => { void loadStats(); void loadCharts(); void loadAccounts(); };
  loadAll();
  void loadRetention();
  const refresh = window.setInterval(() => { void loadStats(); void loadAccounts(); }, 15000);
  const stopTick = tickCountdowns(root, () => { void loadAccounts(); });
  return () => { abort.abort(); window.clearInterval(refresh); stopTick(); disposeCharts(); };
}
