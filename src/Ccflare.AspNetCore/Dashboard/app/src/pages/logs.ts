import { getOptional, LogEntry, subscribe } from "../api";
import { card, emptyState, field, fmtTime, h, replace, select } from "../dom";

const maxLines = 2000;
const levels = ["DEBUG", "INFO", "WARN", "ERROR"];

const keyOf = (e: LogEntry) => `${e.ts}|${e.level}|${e.component}|${e.msg}`;

function metadataText(metadata: LogEntry["metadata"]): string | null {
  if (!metadata) return null;
  const parts = Object.entries(metadata).map(([k, v]) => `${k}=${v ?? "null"}`);
  return parts.length ? parts.join(" ") : null;
}

export function logsPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  let entries: LogEntry[] = [];
  const known = new Set<string>();
  let historyLoaded = false;
  let paused = false;
  const level = select([["", "All levels"], ...levels.map((l) => [l, l] as [string, string])], "", { name: "level" });
  const search = h("input", { type: "search", name: "q", placeholder: "Filter text" });
  const pauseBtn = h("button", { type: "button", className: "ghost", "aria-pressed": "false", onclick: () => {
    paused = !paused; pauseBtn.setAttribute("aria-pressed", String(paused)); pauseBtn.textContent = paused ? "Resume" : "Pause"; if (!paused) render();
  } }, "Pause");
  const liveState = h("span", { className: "badge", "data-testid": "logs-live-state" }, "connecting");
  const list = h("ol", { className: "logs", "aria-label": "Log entries", "aria-live": "off" });
  level.addEventListener("change", render);
  search.addEventListener("input", render);

  replace(root, h("form", { className: "filters", "aria-label": "Log filters", onsubmit: (e: Event) => e.preventDefault() },
    field("Level", level), field("Search", search), h("div", { className: "field" }, h("span", { className: "label-like" }, "Live"), h("div", null, liveState, " ", pauseBtn))),
    card("Logs", list));

  function setLive(text: string, kind: string): void {
    liveState.textContent = text; liveState.className = `badge ${kind}`;
  }

  function add(entry: LogEntry): boolean {
    const key = keyOf(entry);
    if (known.has(key)) return false;
    known.add(key);
    entries.push(entry);
    return true;
  }

  function trim(): void {
    if (entries.length <= maxLines) return;
    for (const e of entries.slice(0, entries.length - maxLines)) known.delete(keyOf(e));
    entries = entries.slice(-maxLines);
  }

  function render(): void {
    if (paused) return;
    if (!historyLoaded) return;
    const q = search.value.trim().toLowerCase();
    const rows = entries.filter((e) => (!level.value || e.level === level.value) && (!q || `${e.component} ${e.msg}`.toLowerCase().includes(q)));
    if (rows.length === 0) { replace(list, h("li", null, emptyState(entries.length ? "No log entries match." : "No log entries yet."))); return; }
    replace(list, rows.slice(-500).reverse().map((e) => {
      const lvl = e.level.toLowerCase();
      const meta = metadataText(e.metadata);
      return h("li", { className: `log log-${lvl}`, "data-level": e.level },
        h("time", { datetime: new Date(e.ts).toISOString() }, fmtTime(e.ts)), h("span", { className: `badge level-${lvl}` }, e.level),
        h("span", { className: "component" }, e.component),
        h("span", { className: "message" }, e.msg),
        meta ? h("code", { className: "meta" }, meta) : null);
    }));
  }

  // History and stream are merged: lines that arrive while the history loads are kept, and a
  // line present in both is shown once. "connected" means the server registered this
  // subscriber, so reading the history after it misses nothing (also after a reconnect).
  async function loadHistory(): Promise<boolean> {
    try {
      const history = await getOptional<LogEntry[]>("api/logs/history", abort.signal);
      if (history === null) { replace(list, h("li", null, emptyState("Logs are not available on this server."))); setLive("off", ""); return false; }
      const live = entries;
      entries = []; known.clear();
      for (const e of history) add(e);
      for (const e of live) add(e);
      entries.sort((a, b) => a.ts - b.ts);
      trim();
      historyLoaded = true;
      render();
      return true;
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(list, h("li", null, emptyState(`Could not load logs: ${(e as Error).message}`)));
      return false;
    }
  }

  const stop = subscribe<LogEntry>("api/logs/stream", {
    onConnected: () => {
      setLive("connecting", "");
      void loadHistory().then((ok) => { if (ok && !abort.signal.aborted) setLive("live", "good"); });
    },
    onData: (entry) => {
      if (typeof entry !== "object" || entry === null || typeof entry.msg !== "string") return;
      if (add(entry)) { trim(); render(); }
    },
    onClosed: () => {
      setLive("offline", "warn");
      if (!historyLoaded) void loadHistory();
    },
  });
  return () => { abort.abort(); stop(); };
}
