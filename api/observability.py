"""Request ids, per-stage timings, one JSON log line per request, and the body-size limit.

A pure ASGI middleware (so streamed answers are timed to their last byte) puts a RequestContext in
a contextvar. Stages (retrieval, tools, llm, engine) add to it from any thread: worker threads run
with a copy of the context that points at the same RequestContext. Timings go back to the caller
in `Server-Timing`, the id in `X-Request-ID`. Logs carry the key id and the route template, never
the raw key or a raw path (a path may hold a phone number).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator

from starlette.exceptions import HTTPException

from assistant.privacy import mask_text

ACCESS_LOG = "retention.api.access"
log = logging.getLogger("retention.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UPLOAD_PATH = "/v1/knowledge/ingest"


@dataclass
class RequestContext:
    """What one request has done so far: its id, who asked, and milliseconds per stage."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    key_id: str | None = None
    role: str | None = None
    stages: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float) -> None:
        """Add time to a stage (thread-safe)."""
        with self._lock:
            self.stages[stage] = self.stages.get(stage, 0.0) + seconds * 1000

    def elapsed_ms(self) -> float:
        """Milliseconds since the request arrived."""
        return (time.perf_counter() - self.started) * 1000

    def server_timing(self) -> str:
        """The `Server-Timing` header value: each stage, then the total so far."""
        parts = [f"{name};dur={ms:.1f}" for name, ms in sorted(self.stages.items())]
        return ", ".join([*parts, f"total;dur={self.elapsed_ms():.1f}"])


_current: ContextVar[RequestContext | None] = ContextVar("retention_request", default=None)


def current() -> RequestContext | None:
    """The context of the request being served (None outside a request)."""
    return _current.get()


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time a block as part of stage `name` of the current request."""
    started = time.perf_counter()
    try:
        yield
    finally:
        ctx = _current.get()
        if ctx is not None:
            ctx.add(name, time.perf_counter() - started)


class _Timed:
    """Delegates to `target`, timing each public method call as `stage_name`."""

    def __init__(self, target: Any, stage_name: str):
        self._target = target
        self._stage = stage_name

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_") or not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            with stage(self._stage):
                return value(*args, **kwargs)

        return timed


class TimedServices:
    """The Services as the assistant sees them: playbook search timed as retrieval, data as tools."""

    def __init__(self, services: Any):
        self._services = services
        self._knowledge: _Timed | None = None
        self._store: _Timed | None = None

    @property
    def knowledge(self) -> Any:
        """The knowledge base, searches timed as `retrieval`."""
        if self._knowledge is None:
            self._knowledge = _Timed(self._services.knowledge, "retrieval")
        return self._knowledge

    @property
    def store(self) -> Any:
        """The subscriber store, queries timed as `tools`."""
        if self._store is None:
            self._store = _Timed(self._services.store, "tools")
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services, name)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a dict message is merged in, text is masked."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
        }
        if isinstance(record.msg, dict):
            payload.update(record.msg)
        else:
            payload["message"] = mask_text(record.getMessage())
        if record.exc_info:
            payload["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_access_log() -> logging.Logger:
    """The API's loggers write JSON lines to stderr (configured once per process); the access logger."""
    logger = logging.getLogger("retention.api")
    if not any(getattr(h, "_retention", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._retention = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    access = logging.getLogger(ACCESS_LOG)
    access.setLevel(logging.INFO)
    return access


class _BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; an HTTPException so FastAPI does not re-wrap it."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes")


class RequestMiddleware:
    """Request id, timings, body-size limit (413) and the access log line, for every HTTP request."""

    def __init__(self, app: Any, max_body_bytes: int, max_upload_bytes: int):
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes
        self.access = configure_access_log()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Serve one request inside its RequestContext."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        ctx = RequestContext(request_id=given if _REQUEST_ID.match(given) else uuid.uuid4().hex)
        token = _current.set(ctx)
        limit = self.max_upload if scope.get("path") == UPLOAD_PATH else self.max_body
        state = {"status": 500, "started": False}

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                extra = [(b"x-request-id", ctx.request_id.encode()),
                         (b"server-timing", ctx.server_timing().encode())]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        received = 0

        async def receive_wrapper() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        try:
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                await _too_large(send_wrapper, limit)
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except _BodyTooLarge:
            if not state["started"]:
                await _too_large(send_wrapper, limit)
        except Exception:
            log.exception("unhandled error in %s", _route(scope))
            if not state["started"]:
                await _send_error(send_wrapper, 500, "internal_error",
                                  f"an unexpected error occurred; quote request id {ctx.request_id}")
        finally:
            _current.reset(token)
            self._log(scope, ctx, state["status"])

    def _log(self, scope: dict, ctx: RequestContext, status: int) -> None:
        self.access.info({
            "request_id": ctx.request_id, "key_id": ctx.key_id, "role": ctx.role,
            "method": scope.get("method"), "route": _route(scope), "status": status,
            "duration_ms": round(ctx.elapsed_ms(), 1),
            "stages_ms": {k: round(v, 1) for k, v in sorted(ctx.stages.items())},
        })


def _route(scope: dict) -> str:
    """The route template (e.g. /v1/subscribers/{subscriber_id}); a raw path only masked."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path or mask_text(str(scope.get("path", "")))


async def _send_error(send: Any, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Any, limit: int) -> None:
    await _send_error(send, 413, "body_too_large", f"the request body is larger than {limit} bytes")
