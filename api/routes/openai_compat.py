"""`POST /v1/chat/completions` (OpenAI compatible, stream or not) and `GET /v1/models`.

Conversation mapping: the last `user` message is the question. `metadata.conversation_id` (or the
`X-Conversation-ID` header) names a stored conversation: if it already has messages, the server's
memory is the context and earlier messages in the request are ignored; otherwise (or with no id) a
new conversation is created and seeded with the request's earlier user/assistant messages, as
OpenAI clients resend the whole history each time. `system` messages are ignored (the assistant
keeps its own instructions). `metadata.subscriber_id` and `metadata.role` work as in /v1/chat.
The answer text keeps its `[a1b2c3d4]` citation handles and ends with a Sources list; the
structured citations ride in an extra `citations` field, on the response and on the final chunk,
with `conversation_id` beside them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import AssistantDep, PrincipalDep, RecordsDep, ServicesDep, SettingsDep
from api.errors import APIError
from api.routes.chat import ERRORS
from api.schemas import ChatCompletionRequest
from api.security import check_message, effective_role
from api.turns import ask, stream_events
from assistant.toolkit import short_id

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "retention-assistant"
HISTORY = 12  # as many earlier messages as the assistant reads


def with_sources(answer: str, citations: list[dict[str, Any]]) -> str:
    """The answer text followed by a Sources list of its citation handles (unless it has one)."""
    if not citations or "\nSources" in answer or "来源：" in answer:
        return answer
    lines = [f"[{short_id(c['id'])}] {c['source']}" + (f" § {c['section']}" if c.get("section") else "")
             for c in citations]
    return answer.rstrip() + "\n\nSources:\n" + "\n".join(lines)


def _question(body: ChatCompletionRequest) -> tuple[str, list[tuple[str, str]]]:
    """The last user message and the user/assistant messages before it."""
    last = max((i for i, m in enumerate(body.messages) if m.role == "user"), default=None)
    if last is None:
        raise APIError(422, "validation_error", "messages: needs at least one message with role 'user'",
                       fields=["messages"])
    earlier = [(m.role, m.text()) for m in body.messages[:last] if m.role in ("user", "assistant") and m.text()]
    return body.messages[last].text(), earlier[-HISTORY:]


def _conversation(services: Any, cid: str | None, owner: str, role: str, earlier: list[tuple[str, str]]) -> str:
    """The conversation to answer in: stored memory if it has messages, else seeded from the request."""
    from assistant.privacy import mask_text

    store = services.conversations
    convo = store.get_or_create(cid, owner=owner, role=role)
    if not convo.messages:
        for speaker, text in earlier:
            store.append(convo.id, speaker, mask_text(text))
    return convo.id


@router.get("/models", summary="The one model this server offers")
async def models(principal: PrincipalDep) -> dict[str, Any]:
    """OpenAI's model list, for clients that ask before chatting."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "retention"}]}


@router.post("/chat/completions", responses=ERRORS, summary="OpenAI chat completions (stream or not)")
async def completions(body: ChatCompletionRequest, request: Request, principal: PrincipalDep,
                      assistant: AssistantDep, records: RecordsDep, services: ServicesDep,
                      settings: SettingsDep) -> Any:
    """Answer the last user message, OpenAI style; `citations` and `conversation_id` are extra fields."""
    question, earlier = _question(body)
    check_message(question, settings.api_max_message_chars, field="messages")
    meta = body.metadata or {}
    role = effective_role(principal, meta.get("role"))
    subscriber_id = meta.get("subscriber_id") or None
    if role == "trainee" and subscriber_id:
        raise APIError(403, "forbidden", "trainees may not look up real subscriber records")
    cid = meta.get("conversation_id") or request.headers.get("x-conversation-id") or None
    cid = await anyio.to_thread.run_sync(_conversation, services, cid, principal.key_id, role, earlier)
    kwargs = dict(role=role, conversation_id=cid, subscriber_id=subscriber_id, owner=principal.key_id)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        return StreamingResponse(_chunks(assistant, records, principal, question, kwargs, completion_id, created,
                                         body.model), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    reply = (await ask(assistant, records, principal, question, **kwargs)).model_dump(mode="json")
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": body.model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": with_sources(reply["answer"], reply["citations"])}}],
        "citations": reply["citations"], "conversation_id": reply["conversation_id"],
        "engine": reply["engine"], "tool_calls_trace": reply["tool_calls"],
    }


async def _chunks(assistant: Any, records: Any, principal: Any, question: str, kwargs: dict[str, Any],
                  completion_id: str, created: int, model: str) -> AsyncIterator[str]:
    """chat.completion.chunk events, then `data: [DONE]`; an error is an OpenAI-style error event."""
    import json

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for event in stream_events(assistant, records, principal, question, **kwargs):
        if event.event == "token":
            yield chunk({"content": event.data})
        elif event.event == "done":
            reply = event.data
            answer = reply.get("answer") or ""
            full = with_sources(answer, reply.get("citations") or [])
            if full != answer:
                yield chunk({"content": full[len(answer.rstrip()):]})
            yield chunk({}, "stop", citations=reply.get("citations") or [],
                        conversation_id=reply.get("conversation_id"), engine=reply.get("engine"))
        elif event.event == "error":
            yield f"data: {json.dumps({'error': event.data}, ensure_ascii=False)}\n\n"
            return
    yield "data: [DONE]\n\n"
