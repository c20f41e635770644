import { getOptional, LogEntry, subscribe } from "../api";
import { card, emptyState, field, fmtTime, h, replace, select } from "../dom";

const maxLines = 2000;
const levels = ["DEBUG", "INFO", "WARN", "ERROR"];

function normLevel(level: string): string {
  const l = (level ?? "").toUpperCase();
  if (l.startsWith("WARN")) return "WARN";
  if (l.startsWith("ERR") || l === "CRITICAL" || l === "FATAL") return "ERROR";
  if (l.startsWith("DEBUG") || l === "TRACE") return "DEBUG";
  return "INFO";
}

export function logsPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  let entries: LogEntry[] = [];
  let stop: () => void = () => undefined;
  let paused = false;
  const level = select([["", "All levels"], ...levels.map((l) => [l, l] as [string, string])], "", { name: "level" });
  const search = h("input", { type: "search", name: "q", placeholder: "Filter text" });
  const pauseBtn = h("button", { type: "button", className: "ghost", "aria-pressed": "false", onclick: () => {
    paused = !paused; pauseBtn.setAttribute("aria-pressed", String(paused)); pauseBtn.textContent = paused ? "Resume" : "Pause"; if (!paused) render();
  } }, "Pause");
  const liveState = h("span", { className: "badge" }, "connecting");
  const list = h("ol", { className: "logs", "aria-label": "Log entries", "aria-live": "off" });
  level.addEventListener("change", render);
  search.addEventListener("input", render);

  replace(root, h("form", { className: "filters", "aria-label": "Log filters", onsubmit: (e: Event) => e.preventDefault() },
    field("Level", level), field("Search", search), h("div", { className: "field" }, h("span", { className: "label-like" }, "Live"), h("div", null, liveState, " ", pauseBtn))),
    card("Logs", list));

  function render(): void {
    if (paused) return;
    const q = search.value.trim().toLowerCase();
    const rows = entries.filter((e) => (!level.value || normLevel(e.level) === level.value) && (!q || `${e.component ?? ""} ${e.message}`.toLowerCase().includes(q)));
    if (rows.length === 0) { replace(list, h("li", null, emptyState(entries.length ? "No log entries match." : "No log entries yet."))); return; }
    replace(list, rows.slice(-500).reverse().map((e) => {
      const lvl = normLevel(e.level);
      return h("li", { className: `log log-${lvl.toLowerCase()}`, "data-level": lvl },
        h("time", null, fmtTime(e.timestamp)), h("span", { className: `badge level-${lvl.toLowerCase()}` }, lvl),
        e.component ? h("span", { className: "component" }, e.component) : null,
        h("span", { className: "message" }, e.message),
        e.metadata && Object.keys(e.metadata as object).length ? h("code", { className: "meta" }, JSON.stringify(e.metadata)) : null);
    }));
  }

  void (async () => {
    try {
      const history = await getOptional<LogEntry[]>("api/logs/history", abort.signal);
      if (history === null) { replace(list, h("li", null, emptyState("Logs are not available on this server."))); liveState.textContent = "off"; return; }
      entries = history.slice(-maxLines);
      render();
      stop = subscribe("api/logs/stream", (_n, data) => {
        if (typeof data !== "object" || data === null || !("message" in data)) return;
        entries.push(data as LogEntry);
        if (entries.length > maxLines) entries = entries.slice(-maxLines);
        render();
      }, () => { liveState.textContent = "offline"; liveState.className = "badge warn"; });
      liveState.textContent = "live"; liveState.className = "badge good";
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(list, h("li", null, emptyState(`Could not load logs: ${(e as Error).message}`)));
    }
  })();
  return () => { abort.abort(); stop(); };
}
