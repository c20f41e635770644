import { Account, Analytics, getOptional, RequestSummary } from "../api";
import { barList } from "../charts";
import { card, emptyState, field, fmtCompact, fmtInt, fmtMs, fmtPct, fmtRate, fmtUsd, h, replace, select } from "../dom";
import { analyticsCharts, metric, ranges } from "./shared";

/** The providers ccflare's providers= filter accepts. */
const providerNames = ["anthropic", "claude-code", "openai", "codex"];

const fmts = { ms: fmtMs, usd: fmtUsd, int: fmtCompact, pct: fmtPct, rate: (v: number) => (Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0)) };

export function analyticsPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  let disposeCharts = () => undefined as void;
  let knownModels: string[] = [];

  const range = select(ranges, "24h", { name: "range" });
  const status = select([["all", "All"], ["success", "Success only"], ["error", "Errors only"]], "all", { name: "status" });
  const account = select([["", "All accounts"]], "", { name: "accounts" });
  const provider = select([["", "All providers"], ...providerNames.map((p) => [p, p] as [string, string])], "", { name: "providers" });
  const model = select([["", "All models"]], "", { name: "models" });
  const user = select([["", "All users"]], "", { name: "users" });
  const userField = field("User", user);
  userField.hidden = true;
  const cumulative = h("input", { type: "checkbox", name: "cumulative" });
  const cumulativeField = h("div", { className: "field checkbox" }, h("label", null, cumulative, " Cumulative"));
  const perModel = h("input", { type: "checkbox", name: "modelBreakdown" });
  const perModelField = h("div", { className: "field checkbox" }, h("label", null, perModel, " Per model"));
  // Only the newest request's answer is shown: filters change faster than answers arrive.
  let generation = 0;

  const totals = h("div", { className: "metrics" });
  const charts = h("div", { className: "chart-grid" });
  const perf = h("div", { className: "table-wrap" });
  const costs = h("div");
  const tokens = h("div");
  const accountsPerf = h("div");
  const providersPerf = h("div");

  const filters = h("form", { className: "filters", "aria-label": "Analytics filters", onsubmit: (e: Event) => e.preventDefault() },
    field("Range", range), field("Provider", provider), field("Account", account), field("Model", model), field("Status", status), userField, cumulativeField, perModelField);
  for (const el of [range, status, provider, account, model, user, cumulative, perModel]) el.addEventListener("change", () => void load());

  replace(root, filters, totals, card("Trends", charts),
    card("Model performance", perf),
    h("div", { className: "two-col" }, card("Cost by model", costs), card("Token breakdown", tokens)),
    h("div", { className: "two-col" }, card("Account performance", accountsPerf), card("Provider breakdown", providersPerf)));

  async function loadFilterOptions(): Promise<void> {
    const accounts = await getOptional<Account[]>("api/accounts", abort.signal).catch(() => null);
    if (accounts) replace(account, h("option", { value: "" }, "All accounts"), accounts.map((a) => h("option", { value: a.name }, a.name)));
    // Users (access keys) appear in request history; /api/users answers 404 while the feature is off.
    const recent = await getOptional<RequestSummary[]>("api/requests?limit=1000", abort.signal).catch(() => null);
    const users = new Map<string, string>();
    for (const r of recent ?? []) if (r.userId) users.set(r.userId, r.userName ?? r.userId);
    if (users.size) {
      replace(user, h("option", { value: "" }, "All users"), [...users].map(([id, name]) => h("option", { value: id }, name)));
      userField.hidden = false;
    }
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    const q = new URLSearchParams({ range: range.value, status: status.value, mode: cumulative.checked ? "cumulative" : "normal" });
    if (perModel.checked) q.set("modelBreakdown", "true");
    if (provider.value) q.set("providers", provider.value);
    if (account.value) q.set("accounts", account.value);
    if (model.value) q.set("models", model.value);
    if (user.value) q.set("users", user.value);
    try {
      const data = await getOptional<Analytics>(`api/analytics?${q}`, abort.signal);
      if (mine !== generation) return;
      disposeCharts(); disposeCharts = () => undefined;
      if (!data) {
        const empty = "Analytics are not available on this server.";
        for (const el of [totals, charts, perf, costs, tokens, accountsPerf, providersPerf]) replace(el);
        replace(charts, emptyState(empty));
        return;
      }
      render(data);
    } catch (e) {
      if (mine === generation && (e as Error).name !== "AbortError") replace(charts, emptyState(`Could not load analytics: ${(e as Error).message}`));
    }
  }

  function render(data: Analytics): void {
    const t = data.totals;
    replace(totals,
      metric("Requests", fmtInt(t.requests), "an-total-requests"),
      metric("Success rate", fmtPct(t.successRate), "an-success-rate"),
      metric("Avg response time", fmtMs(t.avgResponseTime), "an-avg-response"),
      metric("Tokens", fmtInt(t.totalTokens), "an-total-tokens"),
      metric("Cost", fmtUsd(t.totalCostUsd), "an-total-cost"),
      metric("Avg token speed", fmtRate(t.avgTokensPerSecond), "an-token-speed"),
      metric("Active accounts", fmtInt(t.activeAccounts), "an-active-accounts"));
    if (data.timeSeries.length) {
      const built = analyticsCharts(data, ["requests", "tokens", "cost", "responseTime", "rates", "speed"], fmts);
      replace(charts, built.els); disposeCharts = built.dispose;
    } else replace(charts, emptyState("No requests match these filters."));

    const models = data.modelDistribution.map((m) => m.model);
    if (models.join() !== knownModels.join() && !model.value) {
      knownModels = models;
      replace(model, h("option", { value: "" }, "All models"), models.map((m) => h("option", { value: m }, m)));
    }

    replace(perf, data.modelPerformance.length ? h("table", { className: "table", "aria-label": "Model performance" },
      h("thead", null, h("tr", null, ["Model", "Avg response", "p95 response", "Error rate", "Avg tokens/s", "Min tokens/s", "Max tokens/s"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, data.modelPerformance.map((m) => h("tr", null,
        h("th", { scope: "row" }, m.model), h("td", { className: "num" }, fmtMs(m.avgResponseTime)), h("td", { className: "num" }, fmtMs(m.p95ResponseTime)),
        h("td", { className: "num" }, fmtPct(m.errorRate)), h("td", { className: "num" }, fmtRate(m.avgTokensPerSecond)),
        h("td", { className: "num" }, fmtRate(m.minTokensPerSecond)), h("td", { className: "num" }, fmtRate(m.maxTokensPerSecond))))))
      : emptyState("No model data."));

    replace(costs, data.costByModel.length ? h("div", null,
      barList("Cost by model", data.costByModel.map((c) => ({ label: c.model, value: c.costUsd, text: fmtUsd(c.costUsd) }))),
      h("table", { className: "table compact", "aria-label": "Cost by model details" },
        h("thead", null, h("tr", null, ["Model", "Requests", "Tokens", "Cost"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, data.costByModel.map((c) => h("tr", null, h("th", { scope: "row" }, c.model), h("td", { className: "num" }, fmtInt(c.requests)), h("td", { className: "num" }, fmtInt(c.totalTokens)), h("td", { className: "num" }, fmtUsd(c.costUsd)))))))
      : emptyState("No cost data."));

    const tb = data.tokenBreakdown;
    replace(tokens, tb ? barList("Token breakdown", [
      { label: "Input", value: tb.inputTokens, text: fmtInt(tb.inputTokens) },
      { label: "Cache read", value: tb.cacheReadInputTokens, text: fmtInt(tb.cacheReadInputTokens) },
      { label: "Cache write", value: tb.cacheCreationInputTokens, text: fmtInt(tb.cacheCreationInputTokens) },
      { label: "Output", value: tb.outputTokens, text: fmtInt(tb.outputTokens) },
    ]) : emptyState("No token data."));

    replace(accountsPerf, data.accountPerformance.length ? h("table", { className: "table", "aria-label": "Account performance" },
      h("thead", null, h("tr", null, ["Account", "Requests", "Success rate"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, data.accountPerformance.map((a) => h("tr", null, h("th", { scope: "row" }, a.name), h("td", { className: "num" }, fmtInt(a.requests)), h("td", { className: "num" }, fmtPct(a.successRate))))))
      : emptyState("No account data."));

    replace(providersPerf, data.providerBreakdown?.length ? h("table", { className: "table", "aria-label": "Provider breakdown" },
      h("thead", null, h("tr", null, ["Provider", "Requests", "Success rate", "Tokens", "Cost"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, data.providerBreakdown.map((p) => h("tr", null, h("th", { scope: "row" }, p.provider), h("td", { className: "num" }, fmtInt(p.requests)),
        h("td", { className: "num" }, fmtPct(p.successRate)), h("td", { className: "num" }, fmtInt(p.totalTokens)), h("td", { className: "num" }, fmtUsd(p.totalCostUsd))))))
      : emptyState("No provider data."));
  }

  void loadFilterOptions().then(load);
  return () => { abort.abort(); disposeCharts(); };
}

