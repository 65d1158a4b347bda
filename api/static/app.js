// Retention Assistant web chat: key entry, role, conversations, streamed answers with citations.

import { ApiError, getKey, request, setKey, streamChat } from "./api.js";
import { h } from "./dom.js";
import { applyStrings, lang, setLang, t } from "./i18n.js";
import { renderMarkdown } from "./markdown.js";
import { AssistantMessage, citationIndex, userMessage } from "./message.js";

const ROLE_STORE = "retention.role";
const $ = (id) => document.getElementById(id);

const state = {
  role: null, // the key's role from /v1/me, or the one picked in the key dialog
  roleFromServer: false,
  conversationId: null,
  messageCount: 0, // messages stored in the current conversation (feedback indexes them)
  focus: null,
  controller: null,
  conversations: [],
  views: new Set(), // assistant messages on screen, relabelled when the language changes
};

// --- small helpers -------------------------------------------------------------------------------

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 3500);
}

function announce(text) {
  $("live-status").textContent = text;
}

function describeError(err) {
  if (err instanceof ApiError) {
    const fallback = { 401: t("key.rejected"), 403: t("chat.forbidden"), 404: t("chat.notFound"),
      413: t("chat.tooLarge"), 429: t("chat.rateLimited") }[err.status];
    return err.status === 401 ? fallback : (err.message && !/^HTTP \d+$/.test(err.message) ? err.message : fallback || err.message);
  }
  if (err && err.name === "TypeError") return t("chat.network");
  return String(err?.message || err);
}

function storedRole() {
  try { return localStorage.getItem(ROLE_STORE) || "agent"; } catch { return "agent"; }
}

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function scrollToEnd(force = false) {
  const box = $("messages");
  if (force || nearBottom()) box.scrollTop = box.scrollHeight;
}

// --- key and role --------------------------------------------------------------------------------

function renderRole() {
  const badge = $("role-badge");
  const role = getKey() ? state.role : null;
  badge.dataset.role = role || "";
  const key = `role.${role}`;
  $("role-text").textContent = role ? (t(key) === key ? role : t(key)) : t("role.unknown");
  // Trainees practise on playbooks and inline snapshots, never on real subscriber records.
  $("subscriber-field").hidden = role === "trainee";
  if (role === "trainee") $("subscriber-input").value = "";
}

function openKeyDialog(error = "") {
  $("key-input").value = getKey();
  $("role-select").value = storedRole();
  $("key-error").textContent = error;
  $("key-error").hidden = !error;
  $("key-cancel").hidden = !getKey();
  const dialog = $("key-dialog");
  if (!dialog.open) dialog.showModal();
  $("key-input").focus();
}

async function loadMe() {
  try {
    const me = await request("GET", "v1/me");
    state.role = me?.role || storedRole();
    state.roleFromServer = Boolean(me?.role);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { openKeyDialog(t("key.rejected")); throw err; }
    state.role = storedRole(); // no /v1/me on this server: show what the user picked
    state.roleFromServer = false;
  }
  renderRole();
}

async function signIn() {
  renderRole();
  if (!getKey()) { openKeyDialog(); return; }
  try {
    await loadMe();
    await loadConversations();
  } catch { /* the dialog is open with the reason */ }
}

// --- conversations -------------------------------------------------------------------------------

function conversationsFrom(data) {
  if (Array.isArray(data)) return data;
  return data?.conversations || data?.items || data?.data || [];
}

function timeLabel(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString(lang() === "zh" ? "zh-CN" : "en", { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString(lang() === "zh" ? "zh-CN" : "en", { month: "short", day: "numeric" });
}

function renderConversations() {
  const list = $("conversation-list");
  list.replaceChildren(...state.conversations.map((c) => h("li", { class: "conversation" },
    h("button", { type: "button", class: "conversation-open", "aria-current": c.id === state.conversationId ? "page" : null,
      onclick: () => openConversation(c.id) },
    h("span", { class: "conversation-title", text: c.title || t("nav.untitled") }),
    h("span", { class: "conversation-meta" },
      c.focus_subscriber ? h("span", { class: "mono", text: c.focus_subscriber }) : null,
      h("span", { text: timeLabel(c.updated_at || c.created_at) }))),
    h("button", { type: "button", class: "icon-btn small conversation-delete", "aria-label": `${t("nav.delete")}: ${c.title || ""}`,
      title: t("nav.delete"), onclick: () => deleteConversation(c.id) },
    trashIcon()))));
  $("conversation-empty").hidden = state.conversations.length > 0;
}

function trashIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
  p.setAttribute("d", "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13");
  svg.append(p);
  return svg;
}

async function loadConversations() {
  try {
    state.conversations = conversationsFrom(await request("GET", "v1/conversations"));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) openKeyDialog(t("key.rejected"));
    state.conversations = [];
  }
  renderConversations();
}

function resetLog() {
  const box = $("messages");
  box.replaceChildren($("welcome-template").content.cloneNode(true));
  applyStrings(box);
}

function newConversation() {
  stopStreaming();
  state.conversationId = null;
  state.messageCount = 0;
  setFocus(null);
  resetLog();
  renderConversations();
  closeNav();
  $("composer-input").focus();
}

async function openConversation(id) {
  stopStreaming();
  closeNav();
  let convo;
  try {
    convo = await request("GET", `v1/conversations/${encodeURIComponent(id)}`);
  } catch (err) {
    toast(`${t("history.loadFailed")} ${describeError(err)}`);
    return;
  }
  state.conversationId = convo.id || id;
  const messages = convo.messages || [];
  state.messageCount = messages.length;
  setFocus(convo.focus_subscriber || null);
  const box = $("messages");
  box.replaceChildren();
  messages.forEach((m, position) => {
    const index = Number.isInteger(m.index) ? m.index : position;
    if (m.role === "user") { box.append(userMessage(m.content)); return; }
    const view = newAssistantView();
    const payload = m.payload || {};
    view.finish({ answer: m.content, citations: payload.citations || [], tool_calls: payload.tool_calls || [],
      data: payload.data || {}, engine: payload.engine, conversation_id: state.conversationId }, index);
    box.append(view.el);
  });
  renderConversations();
  scrollToEnd(true);
}

async function deleteConversation(id) {
  if (!window.confirm(t("nav.deleteConfirm"))) return;
  try {
    await request("DELETE", `v1/conversations/${encodeURIComponent(id)}`);
  } catch (err) {
    toast(describeError(err));
    return;
  }
  if (id === state.conversationId) newConversation();
  await loadConversations();
}

// --- asking --------------------------------------------------------------------------------------

function setFocus(id) {
  state.focus = id || null;
  $("focus-pill").hidden = !state.focus;
  $("focus-id").textContent = state.focus || "";
}

function newAssistantView() {
  const view = new AssistantMessage({
    onFeedback: sendFeedback,
    onFocus: (id) => { $("subscriber-input").value = id || ""; $("composer-input").focus(); },
  });
  state.views.add(view);
  return view;
}

async function sendFeedback(body) {
  try { await request("POST", "v1/feedback", body); return true; } catch (err) { toast(describeError(err)); return false; }
}

function setBusy(busy) {
  $("send-button").hidden = busy;
  $("stop-button").hidden = !busy;
  $("composer-input").setAttribute("aria-busy", String(busy));
}

function stopStreaming() {
  if (state.controller) state.controller.abort();
}

async function ask(question) {
  if (!getKey()) { openKeyDialog(t("key.missing")); return; }
  if (state.controller) return;
  $("welcome")?.remove();
  const box = $("messages");
  box.append(userMessage(question));
  const view = newAssistantView();
  box.append(view.el);
  scrollToEnd(true);

  const payload = { message: question };
  if (state.conversationId) payload.conversation_id = state.conversationId;
  const subscriber = $("subscriber-input").value.trim();
  if (subscriber) payload.subscriber_id = subscriber;
  if (!state.roleFromServer && state.role) payload.role = state.role;

  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  announce(t("chat.streaming"));
  let finished = false;
  try {
    for await (const { event, data } of streamChat(payload, { signal: controller.signal })) {
      if (event === "citations") view.setCitations(Array.isArray(data) ? data : data?.citations || []);
      else if (event === "tool") view.addTool(data);
      else if (event === "token") view.appendToken(data);
      else if (event === "error") throw new Error(data?.message || t("chat.error"));
      else if (event === "done") {
        const index = state.conversationId === data.conversation_id || !state.conversationId ? state.messageCount + 1 : 1;
        state.conversationId = data.conversation_id || state.conversationId;
        state.messageCount = index + 1;
        view.finish(data, index);
        if (data.subscriber_id !== undefined) setFocus(data.subscriber_id);
        finished = true;
      }
      scrollToEnd();
    }
    if (!finished) throw new Error(t("chat.error"));
    announce(t("chat.done"));
    loadConversations();
  } catch (err) {
    if (controller.signal.aborted) { view.renderText(); view.fail(t("chat.stopped")); announce(t("chat.stopped")); }
    else {
      view.fail(describeError(err));
      announce(`${t("chat.error")}: ${describeError(err)}`);
      if (err instanceof ApiError && err.status === 401) openKeyDialog(t("key.rejected"));
    }
  } finally {
    state.controller = null;
    setBusy(false);
    scrollToEnd();
  }
}

// --- citations panel -----------------------------------------------------------------------------

function openCitation(handle) {
  const c = citationIndex.get(handle);
  $("cite-title").textContent = `[${handle}]`;
  $("cite-source").textContent = c?.source || "—";
  $("cite-section").textContent = c?.section || "—";
  const text = $("cite-text");
  if (c) text.innerHTML = renderMarkdown(c.text); // escaped first: see markdown.js
  else text.replaceChildren(h("p", { class: "muted", text: t("cite.unknown") }));
  const dialog = $("cite-dialog");
  dialog.returnFocus = document.activeElement;
  if (!dialog.open) dialog.showModal();
  $("cite-close").focus();
}

function closeCitation() {
  const dialog = $("cite-dialog");
  dialog.close();
}

// --- layout --------------------------------------------------------------------------------------

function openNav() {
  $("shell").classList.add("nav-open");
  $("nav-toggle").setAttribute("aria-expanded", "true");
  $("scrim").hidden = false;
  $("new-conversation").focus();
}

function closeNav() {
  if (!$("shell").classList.contains("nav-open")) return;
  $("shell").classList.remove("nav-open");
  $("nav-toggle").setAttribute("aria-expanded", "false");
  $("scrim").hidden = true;
}

function autosize() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

function rerenderLanguage() {
  applyStrings(document);
  $("lang-toggle").lang = lang() === "zh" ? "en" : "zh-CN"; // the button names the other language
  renderRole();
  renderConversations();
  for (const view of state.views) if (view.el.isConnected) view.relabel(); else state.views.delete(view);
}

// --- wiring --------------------------------------------------------------------------------------

function wire() {
  // Keep a pristine copy of the welcome panel for "new conversation".
  const template = document.createElement("template");
  template.id = "welcome-template";
  template.content.append($("welcome").cloneNode(true));
  document.body.append(template);

  $("lang-toggle").addEventListener("click", () => { setLang(lang() === "zh" ? "en" : "zh"); rerenderLanguage(); });
  $("key-button").addEventListener("click", () => openKeyDialog());
  $("key-cancel").addEventListener("click", () => $("key-dialog").close());
  $("key-clear").addEventListener("click", () => {
    setKey("");
    state.role = null;
    state.conversations = [];
    newConversation();
    renderRole();
    $("key-input").value = "";
    $("key-cancel").hidden = true;
    toast(t("key.cleared"));
    $("key-input").focus();
  });
  $("key-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) { $("key-error").textContent = t("key.missing"); $("key-error").hidden = false; return; }
    setKey(key);
    try { localStorage.setItem(ROLE_STORE, $("role-select").value); } catch { /* not remembered */ }
    $("key-dialog").close();
    state.role = $("role-select").value; // shown at once; GET /v1/me then confirms the key's real role
    await signIn();
  });
  $("key-dialog").addEventListener("cancel", (e) => { if (!getKey()) e.preventDefault(); });

  $("nav-toggle").addEventListener("click", openNav);
  $("nav-close").addEventListener("click", closeNav);
  $("scrim").addEventListener("click", closeNav);
  $("new-conversation").addEventListener("click", newConversation);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeNav(); });

  $("cite-close").addEventListener("click", closeCitation);
  $("cite-dialog").addEventListener("click", (e) => { if (e.target === $("cite-dialog")) closeCitation(); });
  $("cite-dialog").addEventListener("close", () => $("cite-dialog").returnFocus?.focus?.());

  $("messages").addEventListener("click", (e) => {
    const cite = e.target.closest("[data-cite]");
    if (cite) { openCitation(cite.dataset.cite); return; }
    const suggestion = e.target.closest(".suggestion");
    if (suggestion) { $("composer-input").value = suggestion.textContent; autosize(); $("composer-input").focus(); }
  });

  const input = $("composer-input");
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", (e) => {
    // Chinese IME: Enter confirms the candidate word, it must not send the message.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question || state.controller) return;
    input.value = "";
    autosize();
    ask(question);
  });
  $("stop-button").addEventListener("click", stopStreaming);
}

wire();
rerenderLanguage();
autosize();
signIn();
