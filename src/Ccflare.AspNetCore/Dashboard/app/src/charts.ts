// Charts drawn by uPlot (small, fast, maintained). Colours follow the active theme.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";

export interface SeriesSpec { label: string; values: Array<number | null>; color?: string; bars?: boolean }
export interface ChartSpec {
  title: string;
  /** Unix seconds. */
  x: number[];
  series: SeriesSpec[];
  format?: (v: number) => string;
  height?: number;
}

const palette = ["--chart-1", "--chart-2", "--chart-3", "--chart-4", "--chart-5"];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** Renders a time-series chart into a figure; returns a disposer. */
export function timeChart(spec: ChartSpec): { el: HTMLElement; dispose: () => void } {
  const holder = h("div", { className: "chart-canvas" });
  const el = h("figure", { className: "chart", role: "img", "aria-label": `${spec.title} chart` },
    h("figcaption", null, spec.title), holder);
  let plot: uPlot | null = null;
  let observer: ResizeObserver | null = null;
  const fmt = spec.format ?? ((v: number) => String(Math.round(v * 100) / 100));

  const build = () => {
    plot?.destroy();
    const width = Math.max(holder.clientWidth, 200);
    const axisColor = cssVar("--muted");
    const gridColor = cssVar("--border");
    const opts: uPlot.Options = {
      width,
      height: spec.height ?? 200,
      legend: { show: spec.series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, size: 76,
          values: (_u, splits) => splits.map((v) => fmt(v)) },
      ],
      series: [
        {},
        ...spec.series.map((s, i) => {
          const color = s.color ?? cssVar(palette[i % palette.length]);
          return {
            label: s.label,
            stroke: color,
            width: 2,
            fill: s.bars ? color + "88" : color + "22",
            points: { show: spec.x.length < 3 },
            spanGaps: true,
            value: (_u: uPlot, v: number | null) => (v === null ? "–" : fmt(v)),
            ...(s.bars ? { paths: uPlot.paths.bars!({ size: [0.7, 40] }) } : {}),
          } satisfies uPlot.Series;
        }),
      ],
    };
    plot = new uPlot(opts, [spec.x, ...spec.series.map((s) => s.values)] as uPlot.AlignedData, holder);
  };

  // Build once attached (needs a width), then follow size and theme changes.
  requestAnimationFrame(() => {
    if (!el.isConnected) return;
    build();
    observer = new ResizeObserver(() => {
      if (plot && Math.abs(plot.width - holder.clientWidth) > 4 && holder.clientWidth > 0) {
        plot.setSize({ width: holder.clientWidth, height: spec.height ?? 200 });
      }
    });
    observer.observe(holder);
  });
  const onTheme = () => { if (el.isConnected) build(); };
  window.addEventListener("ccflare-theme", onTheme);
  return {
    el,
    dispose: () => {
      window.removeEventListener("ccflare-theme", onTheme);
      observer?.disconnect();
      plot?.destroy();
      plot = null;
    },
  };
}

/** A horizontal bar list (for distributions), accessible as a table. */
export function barList(title: string, rows: Array<{ label: string; value: number; text: string }>): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h("table", { className: "bars", "aria-label": title },
    h("tbody", null, rows.map((r, i) =>
      h("tr", null,
        h("th", { scope: "row" }, r.label),
        h("td", { className: "bar-cell" },
          h("span", { className: "bar", style: `width:${Math.max(2, (r.value / max) * 100)}%;background:var(${palette[i % palette.length]})` })),
        h("td", { className: "num" }, r.text)))));
}
