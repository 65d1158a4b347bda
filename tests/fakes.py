"""A scripted OpenAI-compatible chat endpoint, in the spirit of pydantic-ai's FunctionModel.

`FakeLLM(script)` answers `POST /v1/chat/completions` from a script
`(messages, tools, call_index) -> response body` and records every request body in `.requests`.
Serve it either in process (`httpx.MockTransport(fake)`, inject the client with
`make_chat_model(settings, http_client=...)`) or over real HTTP on 127.0.0.1 (`LiveFakeLLM`), which
also streams (SSE) and can fail with a status or stall past the client's timeout.

Without a script, or when the script returns None: if the last message is a tool result, the fake
answers with text citing the first `[xxxxxxxx]` handle found in this turn's tool results; otherwise
it returns `FakeLLM(first=...)` (usually the scripted tool calls) or a plain text answer.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import httpx

Script = Callable[[list[dict], list[dict], int], "dict | None"]
HANDLE = re.compile(r"\[([0-9a-f]{8})\]")
_ids = itertools.count(1)


# --- response bodies -------------------------------------------------------------------------
def _completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{next(_ids)}", "object": "chat.completion", "created": int(time.time()),
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def text(content: str) -> dict[str, Any]:
    """A response body whose answer is plain text."""
    return _completion({"role": "assistant", "content": content}, "stop")


def call(name: str, args: dict[str, Any] | str, id: str | None = None) -> dict[str, Any]:
    """One tool call; `args` is a dict (sent as JSON) or the raw arguments string, valid or not."""
    arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return {"id": id or f"call_{next(_ids)}", "type": "function",
            "function": {"name": name, "arguments": arguments}}


def tool_calls(*calls: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    """A response body asking for one or more tool calls (parallel when several)."""
    return _completion({"role": "assistant", "content": content, "tool_calls": list(calls)}, "tool_calls")


def tool_call(name: str, args: dict[str, Any] | str, id: str | None = None) -> dict[str, Any]:
    """A response body asking for a single tool call."""
    return tool_calls(call(name, args, id))


def tool_results(messages: list[dict]) -> list[dict]:
    """The tool messages after the latest user message."""
    found: list[dict] = []
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        if message.get("role") == "tool":
            found.insert(0, message)
    return found


def first_handle(messages: list[dict]) -> str | None:
    """The first `[xxxxxxxx]` passage handle in this turn's tool results."""
    for message in tool_results(messages):
        match = HANDLE.search(str(message.get("content") or ""))
        if match:
            return match.group(1)
    return None


# --- the fake endpoint -----------------------------------------------------------------------
class FakeLLM:
    """Answers chat.completions requests from a script and records them; also an httpx handler."""

    def __init__(self, script: Script | None = None, *, first: dict[str, Any] | None = None):
        self.script = script
        self.first = first
        self.requests: list[dict[str, Any]] = []
        self.status: int | None = None  # answer every request with this HTTP status (e.g. 500)
        self.delay: float = 0.0  # seconds to stall before answering (live server only)
        self._lock = threading.Lock()

    def respond(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one request body."""
        with self._lock:
            index = len(self.requests)
            self.requests.append(body)
        if self.status is not None:
            return self.status, {"error": {"message": "the fake model is failing on purpose",
                                           "type": "server_error", "code": None}}
        messages, tools = body.get("messages", []), body.get("tools", [])
        answer = self.script(messages, tools, index) if self.script else None
        return 200, answer if answer is not None else self.default(messages)

    def default(self, messages: list[dict]) -> dict[str, Any]:
        """Cite the first retrieved passage after tool results, else the scripted first answer."""
        if messages and messages[-1].get("role") == "tool":
            handle = first_handle(messages)
            return text(f"According to the playbook [{handle}], follow the steps it gives." if handle
                        else "I could not find a playbook passage for this.")
        return self.first if self.first is not None else text("Hello from the fake model.")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """The httpx.MockTransport handler."""
        body = json.loads(request.content or b"{}")
        status, payload = self.respond(body)
        if status == 200 and body.get("stream"):
            return httpx.Response(200, content=b"".join(sse_events(payload)),
                                  headers={"content-type": "text/event-stream"})
        return httpx.Response(status, json=payload)

    # helpers for assertions
    def sent_text(self) -> str:
        """Every request body as one JSON string (for 'never sent' checks)."""
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in self.requests)

    def offered_tools(self, index: int = 0) -> list[str]:
        """Names of the tools offered in request `index`."""
        return [t["function"]["name"] for t in self.requests[index].get("tools", [])]


def _words(content: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", content) or [""]


def sse_events(body: dict[str, Any]) -> list[bytes]:
    """A completion body as streamed chat.completion.chunk SSE events, ending with [DONE]."""
    choice = body["choices"][0]
    message, base = choice["message"], {k: body[k] for k in ("id", "created", "model")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {**base, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

    events = [chunk({"role": "assistant", "content": ""})]
    if message.get("content"):
        events += [chunk({"content": word}) for word in _words(message["content"])]
    for i, tc in enumerate(message.get("tool_calls") or []):
        events.append(chunk({"tool_calls": [{"index": i, "id": tc["id"], "type": "function",
                                             "function": {"name": tc["function"]["name"], "arguments": ""}}]}))
        events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": tc["function"]["arguments"]}}]}))
    events.append(chunk({}, choice["finish_reason"]))
    return events + [b"data: [DONE]\n\n"]


# --- the live server -------------------------------------------------------------------------
class LiveFakeLLM:
    """Serves a FakeLLM over HTTP on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, fake: FakeLLM):
        self.fake = fake
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake, self._stop))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        name="fake-llm", daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, e.g. http://127.0.0.1:54321/v1."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "LiveFakeLLM":
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake stalled handlers and shut the server down."""
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "LiveFakeLLM":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(fake: FakeLLM, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, payload = fake.respond(body)
            if fake.delay and stop.wait(fake.delay):
                return
            try:
                if status == 200 and body.get("stream"):
                    self._stream(payload)
                else:
                    self._send(status, payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, payload: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()
            for event in sse_events(payload):  # one write per event, so the client sees a stream
                self.wfile.write(event)
                self.wfile.flush()
            self.close_connection = True

    return Handler
