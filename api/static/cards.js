// Structured parts of a reply (reply.data): subscriber card with risk gauge, offers, call script,
// high-risk list and chart. Everything is built with h()/s(), so server text is never parsed as HTML.

import { renderChart } from "./chart.js";
import { h, money, percent, s } from "./dom.js";
import { lang, t } from "./i18n.js";
import { reportBlock } from "./report.js";

function label(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  return value[lang()] || value.en || value.zh || value.code || "—";
}

function riskLevel(p, riskLabel) {
  const known = { stable: 0, low: 0, medium: 1, high: 2, churned: 2 };
  if (riskLabel in known) return ["ok", "warn", "bad"][known[riskLabel]];
  if (!(p >= 0)) return "ok";
  return p >= 0.6 ? "bad" : p >= 0.3 ? "warn" : "ok";
}

function riskText(riskLabel) {
  const key = `risk.${riskLabel}`;
  const text = t(key);
  return text === key ? String(riskLabel ?? "—") : text;
}

/** A semicircle gauge for a 0..1 churn probability, with the value as a meter for screen readers. */
export function riskGauge(probability, riskLabel) {
  const p = Math.max(0, Math.min(1, Number(probability) || 0));
  const level = riskLevel(p, riskLabel);
  const arc = "M 12 62 A 50 50 0 0 1 112 62";
  return h("div", {
    class: `gauge gauge-${level}`, role: "meter", "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-valuenow": Math.round(p * 100), "aria-label": `${t("card.probability")} ${percent(p)}`,
  },
  s("svg", { viewBox: "0 0 124 70", "aria-hidden": "true" },
    s("path", { d: arc, class: "gauge-track", pathLength: 100 }),
    s("path", { d: arc, class: "gauge-value", pathLength: 100, "stroke-dasharray": `${(p * 100).toFixed(1)} 100` }),
  ),
  h("div", { class: "gauge-figure" }, h("strong", { text: percent(p) }), h("span", { text: riskText(riskLabel) })));
}

function reasonsList(reasons) {
  if (!reasons?.length) return null;
  const top = reasons.slice(0, 6);
  const biggest = Math.max(...top.map((r) => Math.abs(Number(r.contribution) || 0)), 1e-9);
  return h("ul", { class: "reasons" }, top.map((r) => {
    const c = Number(r.contribution);
    const hasC = Number.isFinite(c);
    return h("li", { class: hasC ? "" : "plain" },
      h("span", { class: "reason-text", text: label(r) }),
      hasC ? h("span", { class: "reason-bar", "aria-hidden": "true" },
        h("span", { class: c >= 0 ? "up" : "down", style: `width:${Math.round((Math.abs(c) / biggest) * 100)}%` })) : null,
      hasC ? h("span", { class: "reason-value", text: (c >= 0 ? "+" : "") + c.toFixed(2) }) : null);
  }));
}

function field(name, value) {
  return h("div", { class: "field" }, h("dt", { text: name }), h("dd", {}, value));
}

/** The facts of the card that are present, as [label, value] pairs. */
function facts(card) {
  const out = [];
  const add = (key, value) => { if (value !== null && value !== undefined && value !== "") out.push([t(key), String(value)]); };
  if (card.tenure_months !== undefined) add("card.tenure", `${Math.round(Number(card.tenure_months))} ${t("card.months")}`);
  if (card.plan_id) add("card.plan", card.plan_fee !== undefined ? `${card.plan_id} · ${money(card.plan_fee)}${t("card.perMonth")}` : card.plan_id);
  if (card.arpu_3m_avg !== undefined) add("card.arpu", money(card.arpu_3m_avg));
  if (card.contract_end_date) {
    const days = Number(card.contract_end_in_days);
    add("card.contractEnd", String(card.contract_end_date).slice(0, 10)
      + (Number.isFinite(days) ? ` (${days >= 0 ? t("card.inDays").replace("{n}", days) : t("card.daysAgo").replace("{n}", -days)})` : ""));
  }
  if (card.points_balance !== undefined) add("card.points", Math.round(Number(card.points_balance)).toLocaleString());
  if (card.complaints_90d) add("card.complaints", card.complaints_90d);
  if (card.silent_days) add("card.silent", `${card.silent_days} ${t("card.days")}`);
  if (card.arrears_days) add("card.arrears", `${card.arrears_days} ${t("card.days")}`);
  if (card.region || card.brand) add("card.where", [card.region, card.city, card.brand].filter(Boolean).join(" · "));
  return out;
}

/** The subscriber card: who, lifecycle stage, value tier, risk gauge, reasons and budget. */
export function subscriberCard(card) {
  const caps = card.cost_caps || {};
  return h("section", { class: "card subscriber-card", "aria-label": t("card.title") },
    h("header", { class: "card-head" },
      h("div", {},
        h("p", { class: "eyebrow", text: t("card.title") }),
        h("h3", { class: "sub-id", text: card.subscriber_id || "—" }),
        card.masked_msisdn ? h("p", { class: "muted mono", text: card.masked_msisdn }) : null),
      riskGauge(card.churn_probability, card.risk_label)),
    h("dl", { class: "fields" },
      field(t("card.stage"), h("span", { class: "tag", text: label(card.lifecycle_stage) })),
      field(t("card.tier"), h("span", { class: "tag tag-tier", text: label(card.value_tier) })),
      field(t("card.capMonthly"), money(caps.monthly)),
      field(t("card.capTotal"), money(caps.total))),
    facts(card).length ? h("ul", { class: "facts" }, facts(card).map(([k, v]) =>
      h("li", {}, h("span", { class: "muted", text: k }), " ", h("strong", { text: v })))) : null,
    caps.rule ? h("p", { class: "muted small", text: `${t("card.caps")}: ${caps.rule}` }) : null,
    card.reasons?.length ? h("div", {}, h("h4", { text: t("card.reasons") }), reasonsList(card.reasons)) : null);
}

/** The offers within budget, each with its costs, reasons and citation chips. */
export function offersList(offers, chip) {
  if (!offers?.length) return null;
  return h("section", { class: "card offers", "aria-label": t("card.offers") },
    h("h3", { text: t("card.offers") }),
    h("ol", { class: "offer-list" }, offers.map((o) => h("li", { class: "offer" },
      h("div", { class: "offer-head" },
        h("strong", { text: (lang() === "en" ? o.title_en : o.title_zh) || o.title_zh || o.title_en || o.measure_code }),
        h("span", { class: "tag mono", title: t("card.code"), text: o.measure_code || "" })),
      h("dl", { class: "offer-costs" },
        field(t("card.monthly"), money(o.monthly_cost)),
        field(t("card.oneOff"), money(o.one_off_cost)),
        o.total_cost !== undefined && o.total_cost !== null ? field(t("card.totalCost"), money(o.total_cost)) : null,
        Number.isFinite(Number(o.expected_value)) ? field(t("card.value"), money(o.expected_value)) : null),
      o.why?.length ? h("ul", { class: "why" }, o.why.map((w) => h("li", { text: w }))) : null,
      o.citations?.length ? h("div", { class: "chips" }, o.citations.map(chip)) : null))));
}

/** A call script: sections to say, objections, and what never to promise. */
export function scriptBlock(script, chip) {
  if (!script?.sections?.length) return null;
  return h("details", { class: "card script" },
    h("summary", {}, h("span", { text: t("script.title") })),
    script.sections.map((sec) => h("div", { class: "script-section" },
      h("h4", { text: sec.title || sec.name || "" }),
      sec.lines?.length ? h("ul", {}, sec.lines.map((line) => h("li", { text: line }))) : null,
      sec.notes?.length ? h("p", { class: "muted small" }, `${t("script.notes")}: `, sec.notes.join(" ")) : null,
      sec.citations?.length ? h("div", { class: "chips" }, sec.citations.map(chip)) : null)),
    script.objections?.length ? h("div", { class: "script-section" },
      h("h4", { text: t("script.objections") }),
      h("dl", { class: "objections" }, script.objections.map((o) => [
        h("dt", { text: o.objection }), h("dd", { text: o.response })]))) : null,
    script.do_not?.length ? h("div", { class: "script-section do-not" },
      h("h4", { text: t("script.doNot") }),
      h("ul", {}, script.do_not.map((d) => h("li", { text: d })))) : null);
}

function tierText(tier) {
  if (tier && typeof tier === "object") return label(tier);
  const key = `tier.${tier}`;
  return t(key) === key ? String(tier) : t(key);
}

/** The high-risk list: expected loss per subscriber as a chart, the full table folded below it. */
export function highRiskTable(rows, onFocus) {
  if (!rows?.length) return null;
  const top = rows.slice(0, 50);
  const chart = top.some((r) => Number.isFinite(Number(r.expected_loss)))
    ? renderChart({ type: "hbar", title: t("highrisk.chart"), labels: top.map((r) => r.subscriber_id),
      series: [{ name: t("highrisk.loss"), values: top.map((r) => Number(r.expected_loss)) }] })
    : null;
  return h("section", { class: "card high-risk", "aria-label": t("highrisk.title") },
    h("h3", { text: `${t("highrisk.title")} (${rows.length})` }),
    chart,
    h("details", { class: "fold", open: chart ? null : true },
      h("summary", { text: t("highrisk.table") }),
      h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, [t("highrisk.id"), t("card.tier"), t("card.risk"), t("highrisk.prob"), t("highrisk.arpu"), t("highrisk.loss"), t("highrisk.reason")]
        .map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, rows.slice(0, 50).map((r) => h("tr", {},
        h("td", {}, h("button", { type: "button", class: "link mono", onclick: () => onFocus(r.subscriber_id), text: r.subscriber_id })),
        h("td", {}, r.value_tier ? h("span", { class: "tag tag-tier", text: tierText(r.value_tier) }) : "—"),
        h("td", {}, h("span", { class: `tag risk-${riskLevel(r.churn_probability, r.risk_label)}`, text: riskText(r.risk_label) })),
        h("td", { class: "num", text: percent(r.churn_probability) }),
        h("td", { class: "num", text: r.arpu !== undefined ? money(r.arpu) : "—" }),
        h("td", { class: "num", text: r.expected_loss !== undefined ? money(r.expected_loss) : "—" }),
        h("td", { class: "small", text: r.top_reason || "" }))))))));
}

/** Every structured part of `data` that this page knows how to show, in reading order. */
export function renderData(data, { chip, onFocus }) {
  if (!data || typeof data !== "object") return [];
  const parts = [];
  if (data.subscriber_card) parts.push(subscriberCard(data.subscriber_card));
  const offers = offersList(data.offers, chip);
  if (offers) parts.push(offers);
  const script = scriptBlock(data.script, chip);
  if (script) parts.push(script);
  const table = highRiskTable(data.high_risk, onFocus);
  if (table) parts.push(table);
  const report = reportBlock(data.report);
  if (report) parts.push(report);
  if (data.chart) {
    const chart = renderChart(data.chart);
    if (chart) parts.push(chart);
  }
  return parts;
}
