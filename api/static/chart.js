// A small SVG chart for report answers: data.chart = {type: "bar" | "stacked" | "line" | "hbar", labels, series, title?}.

import { h, s } from "./dom.js";

const W = 640;
const H = 260;
const M = { top: 16, right: 16, bottom: 44, left: 52 };
const PALETTE = ["#2563eb", "#0d9488", "#d97706", "#9333ea", "#dc2626", "#4b5563"];

/** Series in any of the shapes a report may send, as [{name, values:number[]}]. */
export function normalizeSeries(series) {
  if (!series) return [];
  if (Array.isArray(series)) {
    if (series.every((v) => typeof v === "number" || v === null)) return [{ name: "", values: series }];
    return series.map((item, i) => ({
      name: String(item?.name ?? item?.label ?? `#${i + 1}`),
      values: (item?.values ?? item?.data ?? []).map(Number),
    }));
  }
  if (typeof series === "object") {
    return Object.entries(series).map(([name, values]) => ({ name, values: (values || []).map(Number) }));
  }
  return [];
}

const TICKS = 4;

/** The smallest round step (1, 2, 2.5 or 5 x 10^n) that covers `value` in TICKS steps. */
function niceMax(value) {
  if (!(value > 0)) return TICKS;
  const raw = value / TICKS;
  const exp = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * exp).find((m) => m >= raw);
  return step * TICKS;
}

function fmt(n) {
  if (!Number.isFinite(n)) return "";
  if (Math.abs(n) >= 10000) return `${(n / 1000).toFixed(0)}k`;
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en");
  if (Math.abs(n) < 1 && n !== 0) return n.toFixed(2);
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function shorten(label, max) {
  const text = String(label ?? "");
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** Horizontal bars, one row per label (ranked lists: long labels stay readable). */
function horizontalBars(chart, labels, ser) {
  const row = 26;
  const left = Math.min(180, 16 + 7.5 * Math.max(...labels.map((l) => l.length)));
  const height = row * labels.length + 8;
  const max = Math.max(...ser.values.filter(Number.isFinite), 0) || 1;
  const plotW = W - left - 70;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart-svg", role: "img",
    "aria-label": `${chart.title || ""} ${labels.map((l, i) => `${l}: ${fmt(ser.values[i])}`).join(", ")}`.trim() });
  labels.forEach((label, i) => {
    const v = ser.values[i];
    const y0 = 4 + row * i;
    const w = Number.isFinite(v) ? Math.max(2, (Math.max(v, 0) / max) * plotW) : 0;
    svg.append(
      s("text", { x: left - 10, y: y0 + row / 2 + 4, class: "tick label", "text-anchor": "end" }, shorten(label, 24)),
      s("rect", { x: left, y: y0 + 4, width: w, height: row - 8, rx: 3, fill: PALETTE[0], class: "bar" },
        s("title", {}, `${label}: ${fmt(v)}`)),
      s("text", { x: left + w + 6, y: y0 + row / 2 + 4, class: "tick value" }, fmt(v)),
    );
  });
  return h("figure", { class: "chart" }, chart.title ? h("figcaption", { text: chart.title }) : null, svg);
}

/** An inline chart figure, or null when the chart has nothing to draw. */
export function renderChart(chart) {
  const labels = (chart?.labels || []).map(String);
  const series = normalizeSeries(chart?.series).filter((x) => x.values.length);
  if (!labels.length || !series.length) return null;
  if (chart.type === "hbar") return horizontalBars(chart, labels, series[0]);
  const type = chart.type === "line" ? "line" : chart.type === "stacked" ? "stacked" : "bar";
  const values = type === "stacked" // a stack is as tall as its positive parts together
    ? labels.map((_, i) => series.reduce((sum, x) => sum + Math.max(0, Number.isFinite(x.values[i]) ? x.values[i] : 0), 0))
    : series.flatMap((x) => x.values.filter(Number.isFinite));
  const stackBase = labels.map(() => 0);
  const min = Math.min(0, ...values);
  const max = niceMax(Math.max(...values, 0));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v) => M.top + plotH - ((v - min) / (max - min || 1)) * plotH;
  const band = plotW / labels.length;
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img",
    "aria-label": `${chart.title || ""} ${labels.map((l, i) => `${l}: ${series.map((x) => fmt(x.values[i])).join("/")}`).join(", ")}`.trim(),
  });
  for (let k = 0; k <= TICKS; k += 1) {
    const v = min + ((max - min) * k) / TICKS;
    svg.append(
      s("line", { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: k === 0 ? "axis" : "grid" }),
      s("text", { x: M.left - 8, y: y(v) + 4, class: "tick", "text-anchor": "end" }, fmt(v)),
    );
  }
  const maxChars = Math.max(3, Math.floor(band / 7));
  const step = Math.ceil(labels.length / Math.max(1, Math.floor(plotW / 48)));
  labels.forEach((label, i) => {
    if (i % step) return;
    svg.append(s("text", { x: M.left + band * (i + 0.5), y: H - M.bottom + 18, class: "tick", "text-anchor": "middle" },
      s("title", {}, label), shorten(label, maxChars)));
  });
  series.forEach((ser, si) => {
    const color = PALETTE[si % PALETTE.length];
    if (type === "stacked") {
      const bw = band * 0.7;
      ser.values.forEach((v, i) => {
        if (!Number.isFinite(v) || v <= 0 || i >= labels.length) return;
        const top = y(stackBase[i] + v);
        svg.append(s("rect", {
          x: M.left + band * i + (band - bw) / 2, y: top, width: Math.max(1, bw), height: Math.max(1, y(stackBase[i]) - top),
          fill: color, class: "bar",
        }, s("title", {}, `${labels[i]}${ser.name ? " · " + ser.name : ""}: ${fmt(v)}`)));
        stackBase[i] += v;
      });
    } else if (type === "bar") {
      const gap = band * 0.2;
      const bw = (band - gap) / series.length;
      ser.values.forEach((v, i) => {
        if (!Number.isFinite(v) || i >= labels.length) return;
        const top = y(Math.max(v, 0));
        const height = Math.max(1, Math.abs(y(v) - y(0)));
        svg.append(s("rect", {
          x: M.left + band * i + gap / 2 + bw * si, y: top, width: Math.max(1, bw - 2), height, rx: 3, fill: color,
          class: "bar",
        }, s("title", {}, `${labels[i]}${ser.name ? " · " + ser.name : ""}: ${fmt(v)}`)));
      });
    } else {
      const pts = ser.values.map((v, i) => [M.left + band * (i + 0.5), y(v)]).filter(([, py]) => Number.isFinite(py));
      svg.append(s("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: color, "stroke-width": 2.5 }));
      pts.forEach(([px, py], i) => svg.append(
        s("circle", { cx: px, cy: py, r: 3.5, fill: "#fff", stroke: color, "stroke-width": 2 },
          s("title", {}, `${labels[i]}${ser.name ? " · " + ser.name : ""}: ${fmt(ser.values[i])}`)),
      ));
    }
  });
  const legend = series.length > 1 || series[0].name
    ? h("ul", { class: "chart-legend" }, series.map((ser, si) =>
      h("li", {}, h("span", { class: "swatch", style: `background:${PALETTE[si % PALETTE.length]}` }), ser.name)))
    : null;
  return h("figure", { class: "chart" }, chart.title ? h("figcaption", { text: chart.title }) : null, svg, legend);
}
