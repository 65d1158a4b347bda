// Practice view: role-play a retention call with a simulated customer, then read the graded rubric.
// Talks to /v1/training/roleplay (start, turn, finish) and /v1/training/sessions. Every text from the
// server goes into the page as textContent (h() from dom.js), never as markup.

import { ApiError, getKey, request } from "./api.js";
import { h } from "./dom.js";
import { applyStrings, t } from "./i18n.js";

const SCENARIOS = ["renewal", "routine", "campus", "silent", "port_out", "complaint_recovery", "new_customer"];
const $ = (id) => document.getElementById(id);
const session = { id: null, lang: "zh", busy: false, finished: false, record: null };

function message(err) {
  if (err instanceof ApiError) return err.message || `HTTP ${err.status}`;
  return String(err?.message || err);
}

function setStatus(text) {
  const el = $("practice-status");
  el.textContent = text || "";
  el.hidden = !text;
}

function setBusy(busy) {
  session.busy = busy;
  for (const id of ["practice-send", "practice-finish", "practice-start"]) $(id).disabled = busy;
  $("practice-send").disabled = busy || !session.id || session.finished;
  $("practice-finish").disabled = busy || !session.id || Boolean(session.record);
  $("practice-input").disabled = !session.id || session.finished;
}

function bubble(speaker, text) {
  const who = speaker === "trainee" ? t("practice.you") : t("practice.customer");
  const el = h("li", { class: `practice-line ${speaker}`, dataset: { speaker } },
    h("span", { class: "practice-who", text: who }), h("p", { text }));
  $("practice-log").append(el);
  el.scrollIntoView({ block: "nearest" });
}

function renderCard(card) {
  const caps = card.cost_caps || {};
  const rows = [
    [t("practice.customerName"), `${card.name} · ${card.number}`],
    [t("practice.scenario"), card.scenario_name],
    [t("practice.tenure"), `${card.tenure_months}`],
    [t("practice.arpu"), `¥${card.arpu}`],
    [t("practice.segment"), `${card.value_tier} · ${card.lifecycle_stage}`],
    [t("practice.caps"), `¥${caps.monthly} / ¥${caps.total}`],
  ];
  $("practice-card").replaceChildren(...rows.map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v }))));
  $("practice-card").hidden = false;
}

function citation(c) {
  return h("details", { class: "practice-cite" },
    h("summary", {}, h("span", { class: "mono", text: `[${c.id.replace(/-/g, "").slice(0, 8)}]` }),
      ` ${c.source}${c.section ? " · " + c.section : ""}`),
    h("p", { text: c.text }));
}

function renderGrade(record) {
  const grade = record.grade;
  const box = $("practice-grade");
  if (!grade) { box.hidden = true; return; }
  const items = grade.criteria.map((c) => h("li", { class: "practice-criterion", dataset: { status: c.status, code: c.code } },
    h("div", { class: "practice-criterion-head" },
      h("strong", { text: c.title }),
      h("span", { class: "practice-points", text: c.status === "not_applicable" ? "—" : `${c.score}/${c.weight}` }),
      h("span", { class: `practice-badge ${c.status}`, text: t(`practice.status.${c.status}`) })),
    c.flags.length ? h("p", { class: "practice-flags mono", text: c.flags.join(" · ") }) : null,
    c.note ? h("p", { class: "muted small", text: c.note }) : null,
    c.evidence.slice(0, 2).map((e) => h("blockquote", { class: "practice-evidence", text: e.text })),
    c.citations.slice(0, 1).map(citation)));
  box.replaceChildren(
    h("p", { class: "practice-total" }, h("span", { text: t("practice.score") }), " ",
      h("strong", { id: "practice-total", text: `${grade.total}` }), " / 100",
      record.outcome ? h("span", { class: "muted", text: ` · ${t("practice.outcome")}: ${record.outcome}` }) : null),
    h("ol", { class: "practice-criteria" }, items),
    grade.plan.length ? h("div", { class: "practice-plan" }, h("h3", { text: t("practice.plan") }),
      h("ol", {}, grade.plan.map((tip) => h("li", { text: tip })))) : null);
  box.hidden = false;
}

async function start(e) {
  e.preventDefault();
  if (session.busy) return;
  if (!getKey()) { setStatus(t("key.missing")); return; }
  const body = { lang: $("practice-lang").value };
  if ($("practice-scenario").value) body.scenario = $("practice-scenario").value;
  const seed = $("practice-seed").value.trim();
  if (seed) body.seed = Number(seed);
  setBusy(true);
  setStatus("");
  try {
    const started = await request("POST", "v1/training/roleplay", body);
    Object.assign(session, { id: started.session_id, lang: started.lang, finished: false, record: null });
    $("practice-log").replaceChildren();
    $("practice-grade").hidden = true;
    renderCard(started.card);
    bubble("customer", started.customer);
    $("practice-talk").hidden = false;
  } catch (err) {
    setStatus(message(err));
  } finally {
    setBusy(false);
    if (session.id) $("practice-input").focus();
  }
}

async function say(e) {
  e.preventDefault();
  const input = $("practice-input");
  const text = input.value.trim();
  if (!text || !session.id || session.busy || session.finished) return;
  input.value = "";
  bubble("trainee", text);
  setBusy(true);
  try {
    const turn = await request("POST", `v1/training/roleplay/${session.id}/turn`, { message: text });
    bubble("customer", turn.customer);
    if (turn.finished) { session.finished = true; setStatus(t("practice.over")); }
  } catch (err) {
    setStatus(message(err));
  } finally {
    setBusy(false);
    if (!session.finished) input.focus();
  }
}

async function finish() {
  if (!session.id || session.busy) return;
  setBusy(true);
  try {
    session.record = await request("POST", `v1/training/roleplay/${session.id}/finish`);
    session.finished = true;
    renderGrade(session.record);
    setStatus("");
    loadSessions();
  } catch (err) {
    setStatus(message(err));
  } finally {
    setBusy(false);
  }
}

async function loadSessions() {
  const list = $("practice-sessions");
  try {
    const rows = await request("GET", "v1/training/sessions?limit=10");
    const supervising = ["supervisor", "admin"].includes($("role-badge").dataset.role);
    list.replaceChildren(...rows.map((s) => h("li", {},
      h("span", { class: "mono", text: s.id.slice(0, 8) }),
      supervising ? ` ${s.owner} ·` : "",
      ` ${t(`practice.scenario.${s.scenario}`)} · ${s.status}${s.total !== null && s.total !== undefined ? " · " + s.total : ""}`)));
    $("practice-sessions-empty").hidden = rows.length > 0;
  } catch { /* the list is a convenience: the practice itself still works */ }
}

function open() {
  const dialog = $("practice-dialog");
  if (!dialog.open) dialog.showModal();
  if (session.record) renderGrade(session.record);
  loadSessions();
  (session.id && !session.finished ? $("practice-input") : $("practice-scenario")).focus();
}

function wire() {
  const select = $("practice-scenario");
  select.append(...SCENARIOS.map((code) => h("option", { value: code, "data-i18n": `practice.scenario.${code}` })));
  applyStrings($("practice-dialog"));
  $("practice-button").addEventListener("click", open);
  $("practice-close").addEventListener("click", () => $("practice-dialog").close());
  $("practice-setup").addEventListener("submit", start);
  $("practice-say").addEventListener("submit", say);
  $("practice-finish").addEventListener("click", finish);
  $("practice-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      $("practice-say").requestSubmit();
    }
  });
  // Labels follow the interface language; the call itself stays in the language it was started in.
  $("lang-toggle").addEventListener("click", () => { if (session.record) renderGrade(session.record); });
  setBusy(false);
}

wire();
