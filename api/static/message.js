// One message in the log. An assistant message is built empty and filled as the stream arrives:
// sources first, then tool trace, then the answer text token by token, then cards and feedback.

import { renderData } from "./cards.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { renderMarkdown, shortId } from "./markdown.js";

/** Every passage seen on this page, by citation handle, so an inline [a1b2c3d4] can be opened. */
export const citationIndex = new Map();

export function registerCitations(list) {
  for (const c of list || []) if (c && c.id) citationIndex.set(shortId(c.id), c);
}

/** A clickable citation chip: [a1b2c3d4] source · section (from a passage, or a handle of one seen). */
export function citationChip(passage) {
  const handle = typeof passage === "string" ? passage.toLowerCase() : shortId(passage?.id);
  if (typeof passage === "object") registerCitations([passage]);
  const c = citationIndex.get(handle) || {};
  const where = [c.source, c.section].filter(Boolean).join(" · ");
  return h("button", { type: "button", class: "chip", dataset: { cite: handle }, title: where, "aria-label": `${t("cite.open")} ${handle} ${where}` },
    h("span", { class: "chip-id mono", text: `[${handle}]` }),
    h("span", { class: "chip-where", text: where }));
}

const ICON = {
  user: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8c0-3.3 3.1-6 7-6s7 2.7 7 6",
  bot: "M12 3l7 3v5c0 4.6-3 8.4-7 10-4-1.6-7-5.4-7-10V6l7-3z",
  up: "M7 11v9H4v-9h3zm0 0l4-8c1.7 0 2.5 1 2.2 2.6L12.6 9H18c1.2 0 2 1 1.8 2.2l-1.3 7A2 2 0 0 1 16.5 20H7",
  down: "M17 13V4h3v9h-3zm0 0l-4 8c-1.7 0-2.5-1-2.2-2.6l.6-3.4H6c-1.2 0-2-1-1.8-2.2l1.3-7A2 2 0 0 1 7.5 4H17",
  copy: "M9 9h10v11H9zM5 15V4h10",
};

export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICON[name]);
  svg.append(path);
  return svg;
}

/** A user's question bubble. */
export function userMessage(text) {
  return h("article", { class: "msg msg-user" },
    h("div", { class: "avatar", "aria-hidden": "true" }, icon("user")),
    h("div", { class: "bubble" }, h("p", { class: "sr-only", text: t("chat.you") }), h("p", { class: "user-text", text })));
}

/** The view of one assistant answer, updated in place while it streams. */
export class AssistantMessage {
  constructor({ onFeedback, onFocus }) {
    this.text = "";
    this.onFeedback = onFeedback;
    this.onFocus = onFocus;
    this.index = null;
    this.conversationId = null;
    this.pending = false;
    this.status = h("p", { class: "status" }, h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
      h("span", { text: t("chat.thinking") }));
    this.sources = h("div", { class: "sources", hidden: true });
    this.tools = h("details", { class: "tool-trace", hidden: true });
    this.toolSummary = h("summary", {});
    this.toolList = h("ol", { class: "tool-list" });
    this.tools.append(this.toolSummary, this.toolList);
    this.body = h("div", { class: "answer-body", "aria-live": "polite", "aria-busy": "true" });
    this.extras = h("div", { class: "extras" });
    this.footer = h("footer", { class: "msg-foot", hidden: true });
    this.engine = h("span", { class: "engine-tag", hidden: true });
    this.tokens = 0;
    // data-state (waiting, streaming, done, failed) and data-tokens tell tests and styles where the stream is.
    this.el = h("article", { class: "msg msg-assistant streaming", dataset: { state: "waiting", tokens: "0" } },
      h("div", { class: "avatar", "aria-hidden": "true" }, icon("bot")),
      h("div", { class: "bubble" },
        h("header", { class: "msg-head" }, this.who = h("span", { class: "who", text: t("chat.assistant") }), this.engine),
        this.status, this.sources, this.tools, this.body, this.extras, this.footer));
  }

  setCitations(list) {
    registerCitations(list);
    this.sources.replaceChildren();
    if (!list?.length) { this.sources.hidden = true; return; }
    this.sources.hidden = false;
    this.sources.append(h("span", { class: "label", text: t("cite.sources") }), ...list.map(citationChip));
  }

  addTool(call) {
    this.toolCalls = [...(this.toolCalls || []), call];
    this.renderTools();
  }

  setTools(calls) {
    this.toolCalls = calls || [];
    this.renderTools();
  }

  renderTools() {
    const calls = this.toolCalls || [];
    this.tools.hidden = !calls.length;
    const failed = calls.filter((c) => !c.ok).length;
    this.toolSummary.replaceChildren(h("span", { text: `${t("tools.title")} (${calls.length})` }),
      ...(failed ? [h("span", { class: "tag risk-bad", text: `${failed} ${t("tools.failed")}` })] : []));
    this.toolList.replaceChildren(...calls.map((c) => h("li", { class: c.ok ? "ok" : "failed" },
      h("div", { class: "tool-row" },
        h("code", { class: "tool-name", text: c.name }),
        h("span", { class: `tag ${c.ok ? "risk-ok" : "risk-bad"}`, text: c.ok ? t("tools.ok") : t("tools.failed") })),
      c.args && Object.keys(c.args).length
        ? h("p", { class: "tool-args", "aria-label": t("tools.args") }, Object.entries(c.args).map(([k, v]) =>
          h("span", { class: "arg" }, h("span", { class: "arg-key", text: k }), "=", JSON.stringify(v)))) : null,
      c.error ? h("p", { class: "tool-error", text: c.error }) : null)));
  }

  appendToken(piece) {
    this.status.hidden = true;
    this.tokens += 1;
    this.el.dataset.tokens = String(this.tokens);
    if (this.el.dataset.state === "waiting") this.el.dataset.state = "streaming";
    this.text += typeof piece === "string" ? piece : String(piece ?? "");
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.renderText(); });
    }
  }

  renderText() {
    this.body.innerHTML = renderMarkdown(this.text); // escaped first: see markdown.js
  }

  /** The final reply object: authoritative text, citations, tools, structured data. */
  finish(reply, index) {
    this.reply = reply;
    this.status.hidden = true;
    if (typeof reply.answer === "string") this.text = reply.answer;
    this.renderText();
    if (reply.citations) this.setCitations(reply.citations);
    if (reply.tool_calls) this.setTools(reply.tool_calls);
    this.extras.replaceChildren(...renderData(reply.data, { chip: citationChip, onFocus: this.onFocus }));
    if (reply.engine) {
      const key = `chat.engine.${reply.engine}`;
      this.engine.textContent = t(key) === key ? reply.engine : t(key);
      this.engine.title = t("chat.engine");
      this.engine.hidden = false;
    }
    this.conversationId = reply.conversation_id || null;
    this.index = index;
    this.done();
    this.el.dataset.state = "done";
    if (this.conversationId !== null && index !== null) this.renderFeedback();
  }

  /** Rebuild the finished message's labels in the current interface language. */
  relabel() {
    this.who.textContent = t("chat.assistant");
    if (this.reply && this.el.dataset.state === "done") this.finish(this.reply, this.index);
  }

  done() {
    this.el.classList.remove("streaming");
    this.body.setAttribute("aria-busy", "false");
  }

  fail(message) {
    this.status.hidden = true;
    this.done();
    this.el.classList.add("failed");
    this.el.dataset.state = "failed";
    this.extras.append(h("p", { class: "error-box", role: "alert" }, h("strong", { text: t("chat.error") + ": " }), message));
  }

  renderFeedback() {
    const copy = h("button", { type: "button", class: "icon-btn small", "aria-label": t("copy"), title: t("copy") }, icon("copy"));
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(this.text); copy.classList.add("done"); copy.title = t("copied"); } catch { /* no clipboard */ }
    });
    const up = h("button", { type: "button", class: "icon-btn small", "aria-pressed": "false", "aria-label": t("feedback.up"), title: t("feedback.up") }, icon("up"));
    const down = h("button", { type: "button", class: "icon-btn small", "aria-pressed": "false", "aria-label": t("feedback.down"), title: t("feedback.down") }, icon("down"));
    const note = h("span", { class: "muted small feedback-note", role: "status" });
    const comment = h("textarea", { rows: 2, maxlength: 1000, "aria-label": t("feedback.comment"), placeholder: t("feedback.comment") });
    const form = h("form", { class: "feedback-form", hidden: true }, comment,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "btn btn-primary small", text: t("feedback.send") }),
        h("button", { type: "button", class: "btn btn-ghost small", text: t("feedback.skip"), onclick: () => send("down", "") })));
    const send = async (rating, text) => {
      up.disabled = down.disabled = true;
      form.hidden = true;
      (rating === "up" ? up : down).setAttribute("aria-pressed", "true");
      this.rated = rating;
      const ok = await this.onFeedback({ conversation_id: this.conversationId, message_index: this.index, rating, ...(text ? { comment: text } : {}) });
      note.textContent = ok ? t("feedback.thanks") : t("feedback.failed");
      if (!ok) { up.disabled = down.disabled = false; this.rated = null; }
    };
    if (this.rated) { // already rated before a relabel: show it, do not send again
      up.disabled = down.disabled = true;
      (this.rated === "up" ? up : down).setAttribute("aria-pressed", "true");
      note.textContent = t("feedback.thanks");
    }
    up.addEventListener("click", () => send("up", ""));
    down.addEventListener("click", () => { down.setAttribute("aria-pressed", "true"); form.hidden = false; comment.focus(); });
    form.addEventListener("submit", (e) => { e.preventDefault(); send("down", comment.value.trim()); });
    this.footer.replaceChildren(h("span", { class: "muted small", text: t("feedback.label") }), up, down, copy, note, form);
    this.footer.hidden = false;
  }
}
