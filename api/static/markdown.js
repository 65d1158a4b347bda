// A tiny, safe Markdown renderer for answers: the text is HTML-escaped FIRST, then a handful of
// block and inline forms (headings, bold, italic, code, lists, tables, quotes) become our own tags.
// Nothing the server or the model wrote can introduce markup, because every '<' is already '&lt;'.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escape text for use inside HTML (element content or a quoted attribute). */
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Citation handles the assistant writes: [a1b2c3d4] (8 hex digits) or a run like [a1b2c3d4][e5f6a7b8].
const CITE = /\[([0-9a-f]{8})\]/g;

function inline(escaped) {
  // Code spans first, parked behind placeholders so nothing inside them is formatted.
  const codes = [];
  let s = escaped.replace(/`([^`\n]+)`/g, (_, code) => {
    codes.push(code);
    return `\u0000${codes.length - 1}\u0000`;
  });
  s = s
    .replace(/\*\*([^*\n]+?)\*\*/g, "<strong>$1</strong>")
    .replace(/__([^_\n]+?)__/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*([^*\s][^*\n]*?)\*(?!\*)/g, "$1<em>$2</em>")
    .replace(CITE, (_, id) => `<button type="button" class="cite-ref" data-cite="${id}">${id}</button>`);
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${codes[Number(i)]}</code>`);
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|")) row = row.slice(0, -1);
  return row.split("|").map((cell) => cell.trim());
}

const TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const BULLET = /^\s*(?:[-*+•·]|\u2022)\s+(.*)$/;
const ORDERED = /^\s*(\d{1,3})[.)、]\s+(.*)$/;
const HEADING = /^(#{1,4})\s+(.*)$/;

/** Render Markdown-ish answer text to safe HTML. */
export function renderMarkdown(text) {
  // NUL is our placeholder marker for code spans, so it never comes from the text.
  const lines = escapeHtml(String(text ?? "").replace(/\r\n?/g, "\n").replace(/\u0000/g, "")).split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      const body = [];
      i += 1;
      while (i < lines.length && !/^\s*```/.test(lines[i])) body.push(lines[i++]);
      i += 1; // the closing fence (or the end of a still-streaming block)
      out.push(`<pre><code>${body.join("\n")}</code></pre>`);
      continue;
    }
    if (!line.trim()) { i += 1; continue; }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(heading[1].length + 2, 6); // answers sit below the page's own headings
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      i += 1;
      continue;
    }
    if (/^\s*(?:-{3,}|\*{3,})\s*$/.test(line)) { out.push("<hr>"); i += 1; continue; }
    if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      const head = splitRow(line);
      i += 2;
      const rows = [];
      while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(splitRow(lines[i++]));
      const th = head.map((c) => `<th scope="col">${inline(c)}</th>`).join("");
      const tb = rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("");
      out.push(`<div class="table-wrap"><table><thead><tr>${th}</tr></thead><tbody>${tb}</tbody></table></div>`);
      continue;
    }
    if (/^\s*&gt;\s?/.test(line)) {
      const body = [];
      while (i < lines.length && /^\s*&gt;\s?/.test(lines[i])) body.push(lines[i++].replace(/^\s*&gt;\s?/, ""));
      out.push(`<blockquote>${body.map(inline).join("<br>")}</blockquote>`);
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      const ordered = !BULLET.test(line);
      const pattern = ordered ? ORDERED : BULLET;
      const items = [];
      const start = ordered ? Number(ORDERED.exec(line)[1]) : 1;
      while (i < lines.length) {
        const m = pattern.exec(lines[i]);
        if (m) { items.push(inline(ordered ? m[2] : m[1])); i += 1; continue; }
        // An indented line continues the previous item.
        if (items.length && /^\s{2,}\S/.test(lines[i]) && !BULLET.test(lines[i]) && !ORDERED.test(lines[i])) {
          items[items.length - 1] += "<br>" + inline(lines[i].trim());
          i += 1;
          continue;
        }
        break;
      }
      const tag = ordered ? "ol" : "ul";
      const startAttr = ordered && start !== 1 ? ` start="${start}"` : "";
      out.push(`<${tag}${startAttr}>${items.map((li) => `<li>${li}</li>`).join("")}</${tag}>`);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !HEADING.test(lines[i]) && !BULLET.test(lines[i])
           && !ORDERED.test(lines[i]) && !/^\s*```/.test(lines[i]) && !/^\s*&gt;/.test(lines[i])
           && !(lines[i].includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]))) {
      para.push(inline(lines[i++]));
    }
    out.push(`<p>${para.join("<br>")}</p>`);
  }
  return out.join("");
}

/** The citation handle of a passage id: its first 8 hex digits with dashes removed. */
export function shortId(id) {
  return String(id ?? "").replace(/-/g, "").slice(0, 8).toLowerCase();
}
