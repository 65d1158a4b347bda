// A report answer (reply.data.report): its ChartSpec {kind, x, series, y, title, data} drawn inline
// (bar, stacked bar, line over months, grouped bars of a period comparison) and its table folded below. Labels follow the interface language.

import { renderChart } from "./chart.js";
import { h, money, percent } from "./dom.js";
import { t } from "./i18n.js";

const RATES = new Set(["churn_rate", "retention_success_rate", "renewal_rate", "renewal_rate_next_month",
  "renewal_rate_month_after", "reach_rate", "silent_activation_rate", "mean_predicted_risk"]);
const MONEY = new Set(["arpu", "retention_cost", "cost_per_retained"]);
const VALUE_KEYS = { value_tier: "tier", risk_label: "risk" };

function known(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

function metricText(metric) { return known(`metric.${metric}`, metric); }
function dimText(dim) { return known(`dim.${dim}`, dim); }

/** A period comparison's derived column: {metric, part: "previous" | "change"}, else null. */
function derived(column) {
  const m = /^(.*)_(previous|change)$/.exec(column);
  return m && t(`metric.${m[1]}`) !== `metric.${m[1]}` ? { metric: m[1], part: m[2] } : null;
}

function columnText(column) {
  if (column.startsWith("_")) return column;
  const d = derived(column);
  if (d) return metricText(d.metric) + t(d.part === "previous" ? "report.previousOf" : "report.change");
  return known(`metric.${column}`, dimText(column));
}

/** A dimension value as shown: value tiers and risk labels translated, other values as they are. */
export function valueText(dim, value) {
  if (value === null || value === undefined) return "—";
  const prefix = VALUE_KEYS[dim];
  return prefix ? known(`${prefix}.${value}`, String(value)) : String(value);
}

function cellText(column, value) {
  if (value === null || value === undefined) return "—";
  const d = derived(column);
  if (d && d.part === "change") { // a change: signed; rates in percentage points
    const n = Number(value);
    const sign = n > 0 ? "+" : "";
    if (RATES.has(d.metric)) return `${sign}${(n * 100).toFixed(1)}${t("report.pp")}`;
    return sign + (MONEY.has(d.metric) ? money(n) : n.toLocaleString());
  }
  if (d) return cellText(d.metric, value);
  if (RATES.has(column)) return percent(Number(value));
  if (MONEY.has(column)) return money(value);
  return typeof value === "number" ? value.toLocaleString() : valueText(column, value);
}

function title(spec) {
  const metrics = spec.y.map(metricText).join(" · ");
  const dims = [spec.x, spec.series].filter(Boolean).map(dimText);
  return dims.length ? `${metrics} — ${t("dim.by")} ${dims.join(" × ")}` : metrics;
}

/** The inputs of renderChart for one metric of a ChartSpec (rates in percent). */
export function chartInput(spec, metric) {
  const rows = spec.data || [];
  const scale = RATES.has(metric) ? 100 : 1;
  const num = (row) => (row && row[metric] !== null && row[metric] !== undefined ? Number(row[metric]) * scale : NaN);
  const xs = [...new Set(rows.map((r) => String(r[spec.x])))];
  let series;
  if (spec.kind === "grouped_bar") { // a period comparison: this period beside the one it is compared with
    const periods = spec.periods || [];
    const before = t(spec.compare === "previous_year" ? "report.previousYear" : "report.previous");
    const name = (label, i) => (periods[i] ? `${label} ${periods[i]}` : label);
    series = [{ name: name(t("report.current"), 0), values: xs.map((x) => num(rows.find((r) => String(r[spec.x]) === x))) },
      { name: name(before, 1), values: xs.map((x) => {
        const row = rows.find((r) => String(r[spec.x]) === x);
        const v = row ? row[`${metric}_previous`] : null;
        return v === null || v === undefined ? NaN : Number(v) * scale;
      }) }];
  } else if (spec.series) {
    const groups = [...new Set(rows.map((r) => String(r[spec.series])))];
    series = groups.map((g) => ({ name: valueText(spec.series, g),
      values: xs.map((x) => num(rows.find((r) => String(r[spec.x]) === x && String(r[spec.series]) === g))) }));
  } else {
    series = [{ name: "", values: xs.map((x) => num(rows.find((r) => String(r[spec.x]) === x))) }];
  }
  const type = spec.kind === "line" ? "line" : spec.kind === "stacked_bar" ? "stacked"
    : (!spec.series && spec.kind !== "grouped_bar" && xs.length > 12 ? "hbar" : "bar");
  return { type, labels: xs.map((x) => valueText(spec.x, x)), series,
    title: metricText(metric) + (scale === 100 ? t("report.percent") : "") };
}

/** The report card: one chart per metric (up to three), then the table. */
export function reportBlock(report) {
  const spec = report?.chart;
  if (!report || !spec || !Array.isArray(report.columns)) return null;
  const drawable = spec.kind !== "table" && spec.x && (spec.data || []).length;
  const metrics = drawable ? (spec.series ? spec.y.slice(0, 1) : spec.y.slice(0, 3)) : [];
  const figures = metrics.map((m) => renderChart(chartInput(spec, m))).filter(Boolean);
  const rows = report.rows || [];
  const count = report.row_count ?? rows.length;
  return h("section", { class: "card report", "aria-label": t("report.title"), dataset: { kind: spec.kind } },
    h("h3", { text: title(spec) }),
    ...figures,
    h("details", { class: "fold", open: figures.length ? null : true },
      h("summary", { text: `${t("report.table")} (${count} ${t("report.rows")})` }),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, report.columns.map((c) => h("th", { scope: "col", text: columnText(c) })))),
        h("tbody", {}, rows.map((row) => h("tr", {}, row.map((v, i) =>
          h("td", { class: typeof v === "number" ? "num" : null, text: cellText(report.columns[i], v) })))))))));
}
