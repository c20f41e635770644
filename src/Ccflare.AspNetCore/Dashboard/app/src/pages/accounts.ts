import { Account, Config, Provider, get, getOptional, send } from "../api";
import { confirmDialog, promptDialog } from "../dialog";
import { card, emptyState, field, fmtCountdown, fmtInt, fmtTime, h, replace, select, toast } from "../dom";
import { nearLimitBadge, rateLimitCell, tickCountdowns, usageBars, windowProgress } from "./shared";

/** The server's providers that sign in with <method> first, as select options (label: display name and family). */
function providerOptions(providers: Provider[], method: string): Array<[string, string]> {
  return providers.filter((p) => p.authMethods[0] === method)
    .map((p): [string, string] => [p.name, p.builtIn ? p.displayName : `${p.displayName} (${p.family}-compatible)`]);
}

function fillSelect(el: HTMLSelectElement, options: Array<[string, string]>): void {
  const current = el.value;
  replace(el, ...options.map(([value, text]) => h("option", { value }, text)));
  if (options.some(([value]) => value === current)) el.value = current;
}

export function accountsPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  const list = h("div", { "aria-live": "polite" });
  let sessionMs = 5 * 3600 * 1000;

  async function load(): Promise<void> {
    try {
      const [accounts, config] = await Promise.all([get<Account[]>("api/accounts", abort.signal), getOptional<Config>("api/config", abort.signal).catch(() => null)]);
      if (config) sessionMs = config.sessionDurationMs;
      render(accounts);
    } catch (e) {
      if ((e as Error).name !== "AbortError") replace(list, emptyState(`Could not load accounts: ${(e as Error).message}`));
    }
  }

  async function act(promise: Promise<{ message?: string }>, fallback: string): Promise<void> {
    try {
      const res = await promise;
      toast(res.message ?? fallback);
    } catch (e) {
      toast((e as Error).message, "error");
    }
    await load();
  }

  function render(accounts: Account[]): void {
    if (accounts.length === 0) { replace(list, emptyState("No accounts yet. Add one below.")); return; }
    replace(list, h("div", { className: "table-wrap" }, h("table", { className: "table accounts", "aria-label": "Accounts" },
      h("thead", null, h("tr", null, ["Name", "Provider", "Status", "Usage windows", "Rate limit", "Requests", "Routing", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, accounts.map((a) => row(a))))));
  }

  function row(a: Account): HTMLElement {
    const weight = h("input", { type: "number", min: 1, max: 1000, value: a.weight, className: "weight", "aria-label": `Weight of ${a.name}` });
    const saveWeight = h("button", { type: "button", className: "small ghost", "aria-label": `Save weight of ${a.name}`, onclick: () => {
      void act(send("PATCH", `api/accounts/${encodeURIComponent(a.id)}`, { weight: Number(weight.value) }), "Weight saved");
    } }, "Set");
    const priority = h("input", { type: "number", min: 0, step: 1, value: a.priority ?? 0, className: "weight", "aria-label": `Priority of ${a.name}` });
    const priorityError = h("small", { className: "field-error", role: "alert", "data-testid": "priority-error" });
    const savePriority = async (): Promise<void> => {
      priorityError.textContent = "";
      const value = priority.value.trim() === "" ? Number.NaN : Number(priority.value);
      if (!Number.isInteger(value)) { priorityError.textContent = "Priority must be a whole number."; return; }
      try {
        const res = await send<{ message?: string }>("PATCH", `api/accounts/${encodeURIComponent(a.id)}`, { priority: value });
        toast(res.message ?? "Priority saved");
        await load();
      } catch (e) {
        // The server's rule (range) is the one that counts: show its message next to the field.
        priorityError.textContent = (e as Error).message;
        priority.setAttribute("aria-invalid", "true");
      }
    };
    priority.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); void savePriority(); } });
    const setPriority = h("button", { type: "button", className: "small ghost", "aria-label": `Save priority of ${a.name}`, onclick: () => { void savePriority(); } }, "Set");
    const tokenClass = a.tokenStatus === "valid" ? "good" : a.tokenStatus === "expired" ? "bad" : "warn";
    return h("tr", { "data-account": a.name, "data-testid": `account-${a.name}` },
      h("th", { scope: "row" }, h("div", null, a.name), h("small", { className: "muted" }, a.base_url ?? "")),
      h("td", null, a.provider, h("br"), h("small", { className: "muted" }, a.auth_method === "oauth" ? "OAuth" : "API key"),
        a.providerConfigured === false ? h("div", null, h("span", { className: "badge bad", "data-testid": "provider-missing", title: "This provider is no longer configured on the server; the account is kept but never used." }, "Provider not configured")) : null),
      h("td", null, h("span", { className: `badge ${a.paused ? "warn" : "good"}`, "data-testid": "account-status" }, a.paused ? "Paused" : "Active"),
        a.nearLimit ? h("div", null, nearLimitBadge(a)) : null,
        h("div", { className: "token-line" }, h("small", { className: "muted" }, "Token "), h("span", { className: `badge ${tokenClass}`, "data-testid": "token-status" }, a.tokenStatus)),
        a.tokenExpiresAt ? h("div", null, h("small", { className: "muted" }, `expires in ${fmtCountdown(a.tokenExpiresAt)}`)) : null,
        a.sessionInfo?.active ? h("div", null, h("small", { className: "muted" }, `Session: ${fmtInt(a.sessionInfo.requestCount)} requests`)) : null),
      h("td", { className: "usage-cell" }, usageBars(a)),
      h("td", null, rateLimitCell(a), windowProgress(a, sessionMs)),
      h("td", { className: "num" }, fmtInt(a.totalRequests), h("br"), h("small", { className: "muted" }, a.lastUsed ? `last ${fmtTime(a.lastUsed)}` : "never used")),
      h("td", null,
        h("div", { className: "row-tight routing" }, h("span", { className: "muted", "aria-hidden": "true" }, "Priority"), priority, setPriority), priorityError,
        h("div", { className: "row-tight routing" }, h("span", { className: "muted", "aria-hidden": "true" }, "Weight"), weight, saveWeight)),
      h("td", null, h("div", { className: "actions" },
        h("button", { type: "button", className: "small", "aria-label": `${a.paused ? "Resume" : "Pause"} ${a.name}`, onclick: () => {
          void act(send("POST", `api/accounts/${encodeURIComponent(a.id)}/${a.paused ? "resume" : "pause"}`), a.paused ? "Resumed" : "Paused");
        } }, a.paused ? "Resume" : "Pause"),
        h("button", { type: "button", className: "small ghost", "aria-label": `Rename ${a.name}`, onclick: async () => {
          const name = await promptDialog(`Rename ${a.name}`, "New name", a.name);
          if (name && name !== a.name) await act(send("POST", `api/accounts/${encodeURIComponent(a.id)}/rename`, { name }), "Renamed");
        } }, "Rename"),
        h("button", { type: "button", className: "small danger", "aria-label": `Delete ${a.name}`, onclick: async () => {
          if (await confirmDialog(`Delete ${a.name}?`, `The account '${a.name}' and its credentials will be removed. Request history is kept.`, "Delete")) {
            await act(send("DELETE", `api/accounts/${encodeURIComponent(a.id)}`), "Deleted");
          }
        } }, "Delete"))));
  }

  // Add by API key.
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const provider = select([], "", { name: "provider" });
  const apiKey = h("input", { type: "password", name: "api_key", required: true, autocomplete: "off" });
  const baseUrl = h("input", { type: "url", name: "base_url", placeholder: "Provider default" });
  const weight = h("input", { type: "number", name: "weight", min: 1, max: 1000, value: 1 });
  const keyForm = h("form", { className: "grid-form", "aria-label": "Add account with API key" },
    field("Account name", name), field("Provider", provider), field("API key", apiKey),
    field("Base URL (optional)", baseUrl), field("Weight", weight),
    h("div", { className: "form-actions" }, h("button", { type: "submit" }, "Add account")));
  keyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body: Record<string, unknown> = { name: name.value.trim(), provider: provider.value, auth_method: "api_key", api_key: apiKey.value.trim(), weight: Number(weight.value) || 1 };
    if (baseUrl.value.trim()) body.base_url = baseUrl.value.trim();
    try {
      const res = await send<{ message?: string }>("POST", "api/accounts", body);
      toast(res.message ?? "Account added");
      keyForm.reset();
      await load();
    } catch (err) { toast(`Could not add account: ${(err as Error).message}`, "error"); }
  });

  // Add by OAuth: init -> open authUrl -> paste code -> complete.
  const oName = h("input", { type: "text", name: "oauth_name", required: true, maxlength: 100, autocomplete: "off" });
  const oProvider = select([], "", { name: "oauth_provider" });
  const oStep = h("div", { "aria-live": "polite" });
  const oauthForm = h("form", { className: "grid-form", "aria-label": "Add account with OAuth" },
    field("Account name", oName), field("Provider", oProvider),
    h("div", { className: "form-actions" }, h("button", { type: "submit" }, "Start sign-in")));
  oauthForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const prov = oProvider.value;
    try {
      const res = await send<{ message?: string; data?: { authUrl: string; sessionId: string } }>("POST", `api/auth/${prov}/init`, { name: oName.value.trim() });
      if (!res.data) throw new Error("The server did not return a sign-in URL.");
      const session = res.data.sessionId;
      const code = h("input", { type: "text", name: "code", required: true, autocomplete: "off", placeholder: "code#state" });
      const complete = h("form", { className: "grid-form", "aria-label": "Complete OAuth sign-in" },
        h("p", null, "1. Open the sign-in page and approve access: ",
          h("a", { href: res.data.authUrl, target: "_blank", rel: "noopener noreferrer", className: "auth-url" }, "Open sign-in page")),
        h("p", null, "2. Paste the code shown after sign-in:"),
        field("Authorization code", code),
        h("div", { className: "form-actions" }, h("button", { type: "submit" }, "Complete sign-in")));
      complete.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          const done = await send<{ message?: string }>("POST", `api/auth/${prov}/complete`, { sessionId: session, code: code.value.trim() });
          toast(done.message ?? "Account added");
          replace(oStep);
          oauthForm.reset();
          await load();
        } catch (err) { toast(`Sign-in failed: ${(err as Error).message}`, "error"); }
      });
      replace(oStep, complete);
    } catch (err) {
      const status = (err as { status?: number }).status;
      toast(status === 404 ? "OAuth sign-in is not available on this server." : `Could not start sign-in: ${(err as Error).message}`, "error");
    }
  });

  replace(root,
    card("Accounts", list),
    h("div", { className: "two-col" },
      card("Add an API-key account", keyForm),
      card("Add an OAuth account", oauthForm, oStep)));
  void load();
  void get<Provider[]>("api/providers", abort.signal).then((providers) => {
    fillSelect(provider, providerOptions(providers, "api_key"));
    fillSelect(oProvider, providerOptions(providers, "oauth"));
  }).catch((e: Error) => { if (e.name !== "AbortError") toast(`Could not load providers: ${e.message}`, "error"); });
  const refresh = window.setInterval(() => { if (!document.querySelector("dialog[open]") && !root.contains(document.activeElement)) void load(); }, 15000);
  // A window that resets reads as fresh on the server at once: show it without waiting for the next refresh.
  const stopTick = tickCountdowns(root, () => { if (!document.querySelector("dialog[open]") && !root.contains(document.activeElement)) void load(); });
  return () => { abort.abort(); window.clearInterval(refresh); stopTick(); };
}
