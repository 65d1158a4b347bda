"""Running one assistant turn for a route: timing, the audit row, and SSE framing of the stream."""

from __future__ import annotations

import json
import logging
from typing import Any, AsyncIterator

import anyio

from api.observability import current, stage
from api.security import Principal
from assistant.privacy import mask_text
from assistant.records import Records
from assistant.schemas import Reply, StreamEvent
from knowledge.errors import RetentionError

log = logging.getLogger("retention.api")

# Tools whose `subscriber` argument means a real record was looked up (for the audit log).
LOOKUP_TOOLS = {"get_subscriber", "churn_risk", "recommend_offers", "draft_call_script", "draft_offer_messages"}


def sse(event: str, data: Any) -> str:
    """One server-sent event; `data` is always JSON (a token is a JSON string)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def find_offers(data: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Every offer-like dict (one with a measure_code) inside structured reply data."""
    if depth > 6:
        return []
    if isinstance(data, dict):
        if "measure_code" in data and ("monthly_cost" in data or "one_off_cost" in data):
            return [data]
        return [o for v in data.values() for o in find_offers(v, depth + 1)]
    if isinstance(data, list):
        return [o for v in data for o in find_offers(v, depth + 1)]
    return []


def audit_reply(records: Records, principal: Principal, role: str, reply: dict[str, Any]) -> None:
    """Audit a chat answer that touched real subscribers or offered measures (nothing otherwise)."""
    ids: list[str] = []
    for call in reply.get("tool_calls") or []:
        value = (call.get("args") or {}).get("subscriber")
        if call.get("ok") and call.get("name") in LOOKUP_TOOLS and isinstance(value, str):
            ids.append(value)
    if reply.get("subscriber_id") and ids:
        ids.append(reply["subscriber_id"])
    offers = find_offers(reply.get("data") or {})
    if not ids and not offers:
        return
    ctx = current()
    tools = sorted({c.get("name", "") for c in reply.get("tool_calls") or [] if c.get("ok")})
    records.audit(principal.key_id, role, "chat", subscriber_ids=ids, offers=offers,
                  detail=f"conversation {reply.get('conversation_id')}; tools {', '.join(tools)}",
                  request_id=ctx.request_id if ctx else None)


def _note_engine(seconds_ms: float, engine: str | None) -> None:
    """Attribute the engine's own time (minus retrieval and tools) to `llm` when an LLM answered."""
    ctx = current()
    if ctx is None or engine != "llm":
        return
    own = seconds_ms - ctx.stages.get("retrieval", 0.0) - ctx.stages.get("tools", 0.0)
    ctx.add("llm", max(own, 0.0) / 1000)


async def ask(assistant: Any, records: Records, principal: Principal, question: str, **kwargs: Any) -> Reply:
    """One turn in a worker thread, timed as `engine`, audited; domain errors propagate."""

    def work() -> Reply:
        with stage("engine"):
            reply = assistant.ask(question, **kwargs)
        ctx = current()
        _note_engine(ctx.stages.get("engine", 0.0) if ctx else 0.0, reply.engine)
        try:
            audit_reply(records, principal, kwargs.get("role", principal.role), reply.model_dump(mode="json"))
        except Exception:  # noqa: BLE001 - a failed audit write is logged, the answer still goes out
            log.exception("audit write failed")
        return reply

    return await anyio.to_thread.run_sync(work)


async def stream_events(assistant: Any, records: Records, principal: Principal, question: str,
                        **kwargs: Any) -> AsyncIterator[StreamEvent]:
    """Assistant.stream with guarantees: citations first, `done` or `error` last, errors as events."""
    import time

    started = time.perf_counter()
    held: list[StreamEvent] | None = []  # tool events that arrive before the citations; None once sent
    try:
        async for event in assistant.stream(question, **kwargs):
            if event.event == "error":
                data = event.data if isinstance(event.data, dict) else {"message": str(event.data)}
                message = mask_text(str(data.get("message", "the answer failed")))
                yield StreamEvent(event="error", data={**data, "code": data.get("code", "assistant_error"),
                                                       "message": message})
                return
            if held is not None:
                if event.event == "tool":
                    held.append(event)
                    continue
                if event.event != "citations":  # a token or done before any citations: send them first
                    cited = event.data.get("citations", []) if isinstance(event.data, dict) else []
                    yield StreamEvent(event="citations", data=cited)
                    event_first: list[StreamEvent] = [*held, event]
                else:
                    event_first = [event, *held]
                held = None
                for early in event_first[:-1]:
                    yield early
                event = event_first[-1]
            if event.event == "done":
                ctx = current()
                if ctx is not None:
                    ctx.add("engine", time.perf_counter() - started)
                reply = event.data if isinstance(event.data, dict) else {}
                _note_engine((time.perf_counter() - started) * 1000, reply.get("engine"))
                try:
                    await anyio.to_thread.run_sync(audit_reply, records, principal,
                                                   kwargs.get("role", principal.role), reply)
                except Exception:  # noqa: BLE001
                    log.exception("audit write failed")
            yield event
            if event.event == "done":
                return
        for early in [StreamEvent(event="citations", data=[]), *held] if held is not None else []:
            yield early
        yield StreamEvent(event="error", data={"code": "incomplete", "message": "the answer ended early"})
    except RetentionError as exc:
        from api.errors import domain_status

        yield StreamEvent(event="error", data={"code": domain_status(exc)[1], "message": mask_text(str(exc))})
    except Exception:  # noqa: BLE001 - the stream ends with an error event, not a broken connection
        log.exception("stream failed")
        yield StreamEvent(event="error", data={"code": "internal_error", "message": "the answer failed"})
