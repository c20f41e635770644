import { Config, get, send } from "../api";
import { card, emptyState, field, h, replace, toast } from "../dom";

const descriptions: Record<string, string> = {
  session: "Keep using the account whose session started most recently until the session duration ends; others are fallbacks. Best for subscription accounts.",
  "round-robin": "Rotate through available accounts request by request.",
  "least-requests": "Pick the available account with the fewest requests.",
  weighted: "Spread requests across accounts in proportion to their weight.",
  "reset-aware": "Use the account whose usage window resets soonest, so its capacity is not left to expire; a session stays on its account until that account nears its limit.",
};

export function strategyPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  const strategyCard = h("div");
  const sessionCard = h("div");
  replace(root, h("div", { className: "two-col" }, card("Load-balancing strategy", strategyCard), card("Session duration", sessionCard)));

  async function load(): Promise<void> {
    try {
      const [names, current, config] = await Promise.all([
        get<string[]>("api/strategies", abort.signal),
        get<{ strategy: string }>("api/config/strategy", abort.signal),
        get<Config>("api/config", abort.signal),
      ]);
      renderStrategy(names, current.strategy);
      renderSession(config);
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(strategyCard, emptyState(`Could not load the configuration: ${(e as Error).message}`));
    }
  }

  function renderStrategy(names: string[], current: string): void {
    const currentLabel = h("p", { "data-testid": "current-strategy" }, "Current: ", h("strong", null, current));
    const fieldset = h("fieldset", null, h("legend", null, "Strategy"),
      names.map((n) => h("label", { className: "radio" },
        h("input", { type: "radio", name: "strategy", value: n, checked: n === current }),
        h("span", null, h("strong", null, n), h("br"), h("small", { className: "muted" }, descriptions[n] ?? "Custom strategy registered by the host.")))));
    const form = h("form", { "aria-label": "Load-balancing strategy" }, fieldset, h("button", { type: "submit" }, "Save strategy"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = (form.querySelector("input[name=strategy]:checked") as HTMLInputElement | null)?.value;
      if (!chosen) return;
      try {
        const res = await send<{ message?: string; strategy?: string }>("POST", "api/config/strategy", { strategy: chosen });
        toast(res.message ?? `Strategy set to ${chosen}`);
        replace(currentLabel, "Current: ", h("strong", null, res.strategy ?? chosen));
      } catch (err) { toast(`Could not change the strategy: ${(err as Error).message}`, "error"); }
    });
    replace(strategyCard, currentLabel, form);
  }

  function renderSession(config: Config): void {
    const minutes = h("input", { type: "number", min: 1, max: 10080, step: 1, name: "sessionMinutes", value: Math.round(config.sessionDurationMs / 60000), required: true });
    const form = h("form", { className: "inline-form", "aria-label": "Session duration" },
      field("Session duration (minutes)", minutes, "How long the session strategy sticks to one account (ccflare default: 300 minutes = 5 hours)."),
      h("button", { type: "submit" }, "Save duration"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const res = await send<Config>("PATCH", "api/config", { sessionDurationMs: Number(minutes.value) * 60000 });
        toast(`Session duration set to ${Math.round(res.sessionDurationMs / 60000)} minutes`);
      } catch (err) { toast(`Could not save: ${(err as Error).message}`, "error"); }
    });
    replace(sessionCard, form, h("p", { className: "muted" }, `Listening port: ${config.port}`));
  }

  void load();
  return () => abort.abort();
}
