// The page's only door to the server: JSON calls with the bearer key, and the SSE chat stream
// read with fetch + ReadableStream (EventSource cannot POST or send an Authorization header).

const KEY_STORE = "retention.apiKey";

/** An HTTP failure with the status and the server's message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function getKey() {
  try { return localStorage.getItem(KEY_STORE) || ""; } catch { return ""; }
}

export function setKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORE, key);
    else localStorage.removeItem(KEY_STORE);
  } catch { /* storage disabled: the key lives for this page only */ }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = getKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

/** The human message of an error body, whatever shape the server used. */
export function errorMessage(body) {
  if (!body) return "";
  if (typeof body === "string") return body;
  const d = body.detail ?? body.error ?? body.message;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => (e && (e.msg || e.message)) || JSON.stringify(e)).join("; ");
  if (d && typeof d === "object") return d.message || d.msg || JSON.stringify(d);
  return "";
}

async function readBody(res) {
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

/** Call a JSON endpoint; throws ApiError for any non-2xx answer. */
export async function request(method, path, body, { signal } = {}) {
  const init = { method, headers: headers({ Accept: "application/json" }), signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const data = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, errorMessage(data), data);
  return data;
}

/**
 * Parse an SSE byte stream into {event, data} objects. Handles events split across chunks,
 * CRLF or LF line ends, several data: lines per event and comment lines (": keep-alive").
 */
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const ev = parseBlock(block);
        if (ev) yield ev;
      }
      if (done) {
        const ev = parseBlock(buffer);
        if (ev) yield ev;
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const raw = data.join("\n");
  let parsed;
  try { parsed = JSON.parse(raw); } catch { parsed = raw; } // JSON.parse only: never evaluated
  return { event, data: parsed };
}

/** POST /v1/chat as a stream, yielding {event, data} until done or error. */
export async function* streamChat(payload, { signal } = {}) {
  const res = await fetch("v1/chat", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(payload),
    signal,
  });
  if (!res.ok) {
    const data = await readBody(res);
    throw new ApiError(res.status, errorMessage(data), data);
  }
  const type = res.headers.get("content-type") || "";
  if (!type.includes("text/event-stream")) {
    // A server that answered with plain JSON: replay it as the same events.
    const reply = await readBody(res);
    yield { event: "citations", data: reply.citations || [] };
    for (const call of reply.tool_calls || []) yield { event: "tool", data: call };
    yield { event: "token", data: reply.answer || "" };
    yield { event: "done", data: reply };
    return;
  }
  yield* readEvents(res.body);
}
