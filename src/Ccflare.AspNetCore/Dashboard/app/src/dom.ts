// Tiny DOM helpers: no framework, small bundle.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element; attributes starting with "on" become listeners, booleans toggle attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "className") {
        el.className = String(value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

const numberFormat = new Intl.NumberFormat("en-US");
const compactFormat = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? "–" : numberFormat.format(Math.round(n));
}

export function fmtCompact(n: number | null | undefined): string {
  return n === null || n === undefined ? "–" : compactFormat.format(n);
}

export function fmtMs(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return n >= 10000 ? `${(n / 1000).toFixed(1)} s` : `${numberFormat.format(Math.round(n))} ms`;
}

export function fmtPct(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  // ccflare's API reports rates as percentages (0..100).
  return `${n.toFixed(n >= 99.95 || n === 0 || Number.isInteger(n) ? 0 : 1)}%`;
}

export function fmtUsd(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return n > 0 && n < 1 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

/** Output token speed. Ccflare reports 0 when no request had a speed, so 0 reads as "no data". */
export function fmtRate(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) || n <= 0 ? "–" : `${n.toFixed(1)} tok/s`;
}

export function fmtTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "–" : d.toLocaleString();
}

export function fmtClock(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "–" : d.toLocaleTimeString();
}

/** "in 3m 20s" style countdown to a future instant. */
export function fmtCountdown(target: string | number | null | undefined, now = Date.now()): string {
  if (target === null || target === undefined) return "–";
  const t = new Date(target).getTime();
  if (Number.isNaN(t)) return "–";
  let s = Math.round((t - now) / 1000);
  if (s <= 0) return "now";
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

let idCounter = 0;
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form control: label[for] + control. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  if (!control.id) control.id = uid("f");
  return h("div", { className: "field" }, h("label", { for: control.id }, label), control, hint ? h("small", { className: "hint" }, hint) : null);
}

export function select(options: Array<[string, string]>, value: string, attrs?: Attrs): HTMLSelectElement {
  const el = h("select", attrs ?? null);
  for (const [v, text] of options) {
    const opt = h("option", { value: v }, text);
    if (v === value) opt.selected = true;
    el.appendChild(opt);
  }
  return el;
}

export function emptyState(text: string): HTMLElement {
  return h("p", { className: "empty", role: "status" }, text);
}

/** Shows a transient message in the toast area (role=status, announced by screen readers). */
export function toast(message: string, kind: "ok" | "error" = "ok"): void {
  const area = document.getElementById("toasts");
  if (!area) return;
  const item = h("div", { className: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  area.appendChild(item);
  window.setTimeout(() => item.remove(), 5000);
}

export function card(title: string, ...body: Child[]): HTMLElement {
  const id = uid("card");
  return h("section", { className: "card", "aria-labelledby": id }, h("h2", { id }, title), ...body);
}
