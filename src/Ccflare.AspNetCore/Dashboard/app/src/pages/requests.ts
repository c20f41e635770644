import { decodeBody, get, getOptional, RequestDetail, RequestStreamEvent, RequestSummary, subscribe } from "../api";
import { Part, parseRequest, parseResponse, Turn } from "../conversation";
import { modal } from "../dialog";
import { card, emptyState, field, fmtClock, fmtInt, fmtMs, fmtTime, fmtUsd, h, replace, select } from "../dom";

const pageSize = 50;
const maxKept = 20000;

export function requestsPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  const byId = new Map<string, RequestSummary>();
  let ordered: RequestSummary[] = [];
  let page = 0;
  let renderTimer = 0;
  let stopStream: () => void = () => undefined;
  let poll = 0;
  // One client session (Claude Code's or Codex's session id) the list is narrowed to, or "".
  let session = "";

  const search = h("input", { type: "search", name: "q", placeholder: "Path, model, account, id…" });
  const status = select([["all", "All statuses"], ["success", "Success"], ["error", "Errors"]], "all", { name: "status" });
  const provider = select([["", "All providers"], ["anthropic", "anthropic"], ["claude-code", "claude-code"], ["openai", "openai"], ["codex", "codex"]], "", { name: "provider" });
  const account = select([["", "All accounts"]], "", { name: "account" });
  const model = select([["", "All models"]], "", { name: "model" });
  const limit = select([["100", "100"], ["500", "500"], ["1000", "1000"]], "500", { name: "limit" });
  const liveState = h("span", { className: "badge", "data-testid": "live-state" }, "connecting");
  const tbody = h("tbody");
  const pager = h("div", { className: "pager" });
  const count = h("span", { className: "muted", "data-testid": "request-count", "aria-live": "polite" });
  const sessionFilter = h("span", { "data-testid": "session-filter" });

  for (const el of [search, status, provider, account, model]) el.addEventListener("input", () => { page = 0; queueRender(); });
  limit.addEventListener("change", () => { byId.clear(); void loadInitial(); });

  const filters = h("form", { className: "filters", "aria-label": "Request filters", onsubmit: (e: Event) => e.preventDefault() },
    field("Search", search), field("Status", status), field("Provider", provider), field("Account", account), field("Model", model), field("Load last", limit));

  replace(root, filters, card("Requests",
    h("div", { className: "toolbar" }, h("span", null, "Live: ", liveState), count, sessionFilter),
    h("div", { className: "table-wrap" },
      h("table", { className: "table requests", "aria-label": "Requests" },
        h("thead", null, h("tr", null, ["Time", "Method", "Path", "Status", "Account", "Model", "Tokens", "Cost", "Duration", "Session", ""].map((c) => h("th", { scope: "col" }, c)))),
        tbody)),
    pager));

  function upsert(r: Partial<RequestSummary> & { id: string }): void {
    const existing = byId.get(r.id);
    if (existing) Object.assign(existing, r, { pending: r.pending ?? (r.statusCode ? false : existing.pending) });
    else byId.set(r.id, { ...(r as RequestSummary) });
  }

  function resort(): void {
    ordered = [...byId.values()].sort((a, b) => new Date(b.timestamp).getTime() - new Date(a.timestamp).getTime());
    if (ordered.length > maxKept) {
      for (const r of ordered.slice(maxKept)) byId.delete(r.id);
      ordered.length = maxKept;
    }
  }

  function refreshOptions(): void {
    const accounts = new Set<string>(); const models = new Set<string>();
    for (const r of ordered) { if (r.accountName) accounts.add(r.accountName); if (r.model) models.add(r.model); }
    syncOptions(account, "All accounts", accounts);
    syncOptions(model, "All models", models);
  }

  function matches(r: RequestSummary): boolean {
    if (session && r.clientSessionId !== session) return false;
    if (status.value === "success" && !(r.success || r.pending)) return false;
    if (status.value === "error" && (r.success || r.pending)) return false;
    if (provider.value && r.provider !== provider.value) return false;
    if (account.value && r.accountName !== account.value) return false;
    if (model.value && r.model !== model.value) return false;
    const q = search.value.trim().toLowerCase();
    if (q && ![r.path, r.model, r.accountName, r.id, r.errorMessage].some((v) => v && v.toLowerCase().includes(q))) return false;
    return true;
  }

  // Live events arrive one by one: re-render at most every 100 ms (a timer, not an animation
  // frame, so a background tab still catches up).
  function queueRender(): void {
    if (renderTimer) return;
    renderTimer = window.setTimeout(() => { renderTimer = 0; render(); }, 100);
  }

  function render(): void {
    const rows = ordered.filter(matches);
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    page = Math.min(page, pages - 1);
    const slice = rows.slice(page * pageSize, page * pageSize + pageSize);
    count.textContent = `${fmtInt(rows.length)} of ${fmtInt(ordered.length)} loaded requests`;
    replace(tbody, slice.length === 0 ? h("tr", null, h("td", { colspan: 11 }, emptyState("No requests match."))) : slice.map(rowOf));
    replace(pager,
      h("button", { type: "button", className: "small ghost", disabled: page === 0, "aria-label": "Previous page", onclick: () => { page -= 1; render(); } }, "‹ Prev"),
      h("span", { "data-testid": "page-indicator" }, `Page ${page + 1} of ${pages}`),
      h("button", { type: "button", className: "small ghost", disabled: page >= pages - 1, "aria-label": "Next page", onclick: () => { page += 1; render(); } }, "Next ›"));
  }

  function rowOf(r: RequestSummary): HTMLElement {
    const statusText = r.pending ? "…" : String(r.statusCode ?? "–");
    const statusClass = r.pending ? "" : r.success ? "good" : "bad";
    return h("tr", { "data-request-id": r.id, className: r.pending ? "pending" : "" },
      h("td", { title: fmtTime(r.timestamp) }, fmtClock(r.timestamp)),
      h("td", null, r.method),
      h("td", { className: "path" }, r.path),
      h("td", null, h("span", { className: `badge ${statusClass}` }, statusText), r.failoverAttempts ? h("small", { className: "muted" }, ` ↻${r.failoverAttempts}`) : null),
      h("td", null, r.accountName ?? "–"),
      h("td", null, r.model ?? "–"),
      h("td", { className: "num" }, fmtInt(r.totalTokens)),
      h("td", { className: "num", title: r.costUnknown ? "No price is known for this model" : r.costEstimated ? "Estimated: this model has no price of its own; its family's newest price was used" : null },
        r.costUnknown ? "?" : r.costEstimated ? `~${fmtUsd(r.costUsd)}` : fmtUsd(r.costUsd)),
      h("td", { className: "num" }, fmtMs(r.responseTimeMs)),
      h("td", null, r.clientSessionId
        ? h("button", { type: "button", className: "small ghost session", title: r.clientSessionId, "aria-label": `Show only session ${r.clientSessionId}`, onclick: () => showSession(r.clientSessionId!) }, shortId(r.clientSessionId))
        : "–"),
      // A pending request has no row yet (GET /api/requests/{id} would answer 404): details open once it finished.
      h("td", null, h("button", { type: "button", className: "small ghost", disabled: r.pending === true, "aria-label": `Details of request ${r.id}`, onclick: () => void openDetail(r) }, "Details")));
  }

  // Narrows the list to one session and loads that session's requests from the server, so the whole
  // session shows even when its older requests are outside the loaded window.
  function showSession(id: string): void {
    session = id; page = 0;
    replace(sessionFilter, id ? h("span", { className: "badge" }, `Session ${shortId(id)} `,
      h("button", { type: "button", className: "small ghost", "aria-label": "Show all sessions", onclick: () => showSession("") }, "×")) : "");
    if (id) void load(limit.value, id); else render();
  }

  async function load(n: string, onlySession = ""): Promise<boolean> {
    try {
      const sessionQuery = onlySession ? `&clientSessionId=${encodeURIComponent(onlySession)}` : "";
      const list = await get<RequestSummary[]>(`api/requests?limit=${n}${sessionQuery}`, abort.signal);
      for (const r of list) upsert({ ...r, pending: false });
      resort(); refreshOptions(); render();
      return true;
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(tbody, h("tr", null, h("td", { colspan: 11 }, emptyState(`Could not load requests: ${(e as Error).message}`))));
      return false;
    }
  }
  const loadInitial = () => load(limit.value);

  function onData(e: RequestStreamEvent): void {
    if (e.type === "ingress" || e.type === "start") {
      const known = byId.get(e.id);
      if (known && !known.pending) return;
      upsert({
        ...(known ?? { id: e.id, provider: null, accountName: null, success: false }),
        timestamp: new Date(e.timestamp).toISOString(), method: e.method, path: e.path,
        statusCode: e.type === "start" ? e.statusCode : known?.statusCode ?? null, pending: true,
      } as RequestSummary);
    } else if (e.type === "summary") {
      upsert({ ...e.payload, pending: false });
    } else {
      return;
    }
    resort(); refreshOptions(); queueRender();
  }

  function setLive(text: string, kind: string): void {
    liveState.textContent = text; liveState.className = `badge ${kind}`;
  }

  function startPolling(): void {
    setLive("polling", "warn");
    poll = window.setInterval(async () => {
      const list = await getOptional<RequestSummary[]>("api/requests?limit=50", abort.signal).catch(() => null);
      if (!list) return;
      for (const r of list) upsert({ ...r, pending: false });
      resort(); refreshOptions(); queueRender();
    }, 5000);
  }

  // Load the history and open the stream together. "connected" means the server has registered
  // this subscriber: from then on no request is missed, and re-reading the newest rows fills
  // whatever finished between the history snapshot and the subscription (or during a reconnect).
  const initial = loadInitial();
  stopStream = subscribe<RequestStreamEvent>("api/requests/stream", {
    onConnected: () => {
      setLive("connecting", "");
      void initial.then(async (ok) => {
        if (ok && await load("50") && !abort.signal.aborted) setLive("live", "good");
      });
    },
    onData,
    onClosed: startPolling,
  });

  return () => { abort.abort(); stopStream(); window.clearInterval(poll); window.clearTimeout(renderTimer); };
}

function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

function syncOptions(sel: HTMLSelectElement, allLabel: string, values: Set<string>): void {
  const current = sel.value;
  const wanted = ["", ...[...values].sort()];
  const have = [...sel.options].map((o) => o.value);
  if (wanted.length === have.length && wanted.every((v, i) => v === have[i])) return;
  replace(sel, wanted.map((v) => h("option", { value: v }, v || allLabel)));
  sel.value = wanted.includes(current) ? current : "";
}

async function openDetail(r: RequestSummary): Promise<void> {
  const body = h("div", { className: "detail" }, h("p", { role: "status" }, "Loading…"));
  const closed = modal(`Request ${r.method} ${r.path}`, body, [{ label: "Close", value: "close" }], true);
  let detail: RequestDetail | null = null;
  try { detail = await getOptional<RequestDetail>(`api/requests/${encodeURIComponent(r.id)}`); } catch { detail = null; }
  // A row without a stored payload (retention, capture off) answers with empty headers and no bodies.
  const hasPayload = detail !== null && (detail.request.body !== null || (detail.response?.body ?? null) !== null || Object.keys(detail.request.headers).length > 0);
  if (!hasPayload) detail = null;
  const reqText = decodeBody(detail?.request?.body);
  const resText = decodeBody(detail?.response?.body);
  const conversation = detail ? [...parseRequest(reqText), ...parseResponse(resText)] : [];

  const panels: Record<string, HTMLElement> = {
    Conversation: conversation.length ? h("div", { className: "conversation", "data-testid": "conversation" }, conversation.map(turnView)) : emptyState(detail ? "No conversation could be read from this payload." : "The payload of this request is not available."),
    Request: detail ? h("div", null, headersView(detail.request.headers), h("pre", { className: "code", "aria-label": "Request body" }, prettyText(reqText))) : emptyState("No payload stored."),
    Response: detail?.response ? h("div", null, h("p", null, `Status ${detail.response.status}`,
      detail.response.truncated ? h("span", { className: "badge warn" }, " body truncated (capture limit)") : null),
      headersView(detail.response.headers), h("pre", { className: "code", "aria-label": "Response body" }, prettyText(resText))) : emptyState("No response stored."),
    Summary: h("dl", { className: "kv" }, ([
      ["Id", r.id], ["Time", fmtTime(r.timestamp)], ["Status", String(r.statusCode ?? "–")], ["Provider", r.provider ?? "–"], ["Upstream path", r.upstreamPath ?? "–"],
      ["Account", r.accountName ?? "–"], ["Model", r.model ?? "–"], ["Input tokens", fmtInt(r.inputTokens ?? r.promptTokens)], ["Output tokens", fmtInt(r.outputTokens ?? r.completionTokens)],
      ["Cache read", fmtInt(r.cacheReadInputTokens)], ["Cache write", fmtInt(r.cacheCreationInputTokens)], ["Reasoning tokens", fmtInt(r.reasoningTokens)], ["Cost", fmtUsd(r.costUsd)],
      ["Response time", fmtMs(r.responseTimeMs)], ["Time to first token", fmtMs(r.ttftMs)], ["Proxy overhead", fmtMs(r.proxyOverheadMs)], ["Failover attempts", String(r.failoverAttempts ?? 0)],
      ["Error", r.errorMessage ?? "–"], ["Accounts attempted", detail ? String(detail.meta.transport.accountsAttempted) : "–"], ["Rate limited", detail?.meta.transport.rateLimited ? "yes" : "no"],
      ["User", r.userName ?? r.userId ?? "–"], ["Response id", r.responseId ?? "–"], ["Session", r.clientSessionId ?? "–"],
    ] as Array<[string, string]>).flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
  };
  const tabs = h("div", { role: "tablist", "aria-label": "Request detail" });
  const panel = h("div", { role: "tabpanel", className: "tabpanel" });
  const select = (name: string) => {
    for (const b of tabs.querySelectorAll("button")) b.setAttribute("aria-selected", String(b.textContent === name));
    replace(panel, panels[name]);
  };
  for (const name of Object.keys(panels)) tabs.appendChild(h("button", { type: "button", role: "tab", className: "tab", onclick: () => select(name) }, name));
  replace(body, tabs, panel);
  select("Conversation");
  await closed;
}

function prettyText(text: string): string {
  if (!text) return "(empty)";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function headersView(headers: Record<string, string> | undefined): HTMLElement {
  const entries = Object.entries(headers ?? {});
  return h("details", null, h("summary", null, `Headers (${entries.length})`),
    h("dl", { className: "kv" }, entries.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)])));
}

function turnView(t: Turn): HTMLElement {
  return h("article", { className: `turn role-${t.role}`, "aria-label": `${t.role} message` },
    h("header", null, t.role), t.parts.map(partView));
}

function partView(p: Part): HTMLElement {
  switch (p.kind) {
    case "text": return h("div", { className: "part text" }, p.text);
    case "thinking": return h("details", { className: "part thinking", open: true }, h("summary", null, "Thinking"), h("div", null, p.text));
    case "tool_call": return h("div", { className: "part tool-call" }, h("div", { className: "part-title" }, `Tool call: ${p.name}`, p.id ? h("small", { className: "muted" }, ` ${p.id}`) : null), h("pre", { className: "code" }, p.input));
    case "tool_result": return h("div", { className: `part tool-result${p.isError ? " error" : ""}` }, h("div", { className: "part-title" }, "Tool result", p.id ? h("small", { className: "muted" }, ` ${p.id}`) : null), h("pre", { className: "code" }, p.text));
    case "image": return h("div", { className: "part muted" }, p.text);
  }
}
