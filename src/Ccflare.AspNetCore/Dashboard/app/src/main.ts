import "./styles.css";
import { baseUrl } from "./api";
import { h, replace } from "./dom";
import { overviewPage } from "./pages/overview";
import { accountsPage } from "./pages/accounts";
import { requestsPage } from "./pages/requests";
import { analyticsPage } from "./pages/analytics";
import { logsPage } from "./pages/logs";
import { strategyPage } from "./pages/strategy";

/** A page renders into root and returns its cleanup (timers, streams, charts). */
export type Page = (root: HTMLElement) => () => void;

interface Route { path: string; title: string; page: Page }

const routes: Route[] = [
  { path: "", title: "Overview", page: overviewPage },
  { path: "accounts", title: "Accounts", page: accountsPage },
  { path: "requests", title: "Requests", page: requestsPage },
  { path: "analytics", title: "Analytics", page: analyticsPage },
  { path: "logs", title: "Logs", page: logsPage },
  { path: "strategy", title: "Strategy", page: strategyPage },
];

// Theme: follows prefers-color-scheme until the user picks one.
const themeKey = "ccflare-theme";
function currentTheme(): "light" | "dark" {
  const stored = localStorage.getItem(themeKey);
  if (stored === "light" || stored === "dark") return stored;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}
function applyTheme(theme: "light" | "dark"): void {
  document.documentElement.dataset.theme = theme;
  const button = document.getElementById("theme-toggle");
  if (button) {
    button.setAttribute("aria-pressed", String(theme === "dark"));
    button.textContent = theme === "dark" ? "☀ Light" : "☾ Dark";
  }
  window.dispatchEvent(new Event("ccflare-theme"));
}

/** The route path of the current location, relative to the dashboard base. */
function routePath(): string {
  const base = baseUrl().pathname;
  let path = location.pathname;
  if (path.startsWith(base)) path = path.slice(base.length);
  else if (path + "/" === base) path = "";
  return path.replace(/\/+$/, "").split("/")[0] ?? "";
}

let cleanup: (() => void) | null = null;
const main = h("main", { id: "main", tabindex: "-1" });
const nav = h("nav", { "aria-label": "Main" });

function render(): void {
  const path = routePath();
  const route = routes.find((r) => r.path === path) ?? routes[0];
  cleanup?.();
  cleanup = null;
  document.title = `${route.title} · Ccflare`;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.route === route.path) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = h("div", { className: "page", "data-page": route.path || "overview" });
  replace(main, h("h1", null, route.title), root);
  cleanup = route.page(root);
}

function navigate(path: string): void {
  const url = new URL(path, baseUrl());
  if (url.pathname !== location.pathname || url.search !== location.search) history.pushState(null, "", url);
  render();
  main.focus({ preventScroll: true });
}

function start(): void {
  const app = document.getElementById("app")!;
  for (const r of routes) {
    nav.appendChild(h("a", { href: r.path === "" ? "./" : r.path, "data-route": r.path }, r.title));
  }
  nav.addEventListener("click", (e) => {
    const a = (e.target as HTMLElement).closest("a");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(a.dataset.route ?? "");
  });
  const toggle = h("button", { id: "theme-toggle", type: "button", className: "ghost", "aria-label": "Toggle dark theme",
    onclick: () => {
      const next = currentTheme() === "dark" ? "light" : "dark";
      localStorage.setItem(themeKey, next);
      applyTheme(next);
    } });
  const header = h("header", { className: "sidebar" },
    h("div", { className: "brand" }, h("span", { className: "logo", "aria-hidden": "true" }, "◆"), " Ccflare"),
    nav,
    h("div", { className: "sidebar-foot" }, toggle));
  replace(app, h("a", { className: "skip", href: "#main" }, "Skip to content"), header, main,
    h("div", { id: "toasts", className: "toasts", "aria-live": "polite" }));
  applyTheme(currentTheme());
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (!localStorage.getItem(themeKey)) applyTheme(currentTheme());
  });
  window.addEventListener("popstate", render);
  render();
}

start();
