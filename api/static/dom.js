// Building DOM without innerHTML: text always goes in as textContent, so it is never parsed as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.setAttribute("class", value);
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("p", {class: "x"}, "text", otherNode). Strings become text nodes. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, same calling convention as h(). */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** A number as money (yuan), e.g. ¥1,234 or ¥12.50. */
export function money(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "—";
  const digits = Math.abs(n) < 100 && n % 1 !== 0 ? 2 : 0;
  return "¥" + n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A 0..1 probability as a percentage. */
export function percent(p) {
  const n = Number(p);
  return Number.isFinite(n) ? `${Math.round(n * 100)}%` : "—";
}
