"""`POST /v1/chat`: one turn as JSON (the `retention ask --json` object) or as server-sent events."""

from __future__ import annotations

from typing import Any, AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import AssistantDep, PrincipalDep, RecordsDep, SettingsDep
from api.errors import APIError
from api.schemas import ChatRequest, ChatResponse, ErrorBody
from api.security import check_message, effective_role
from api.turns import ask, sse, stream_events

router = APIRouter(prefix="/v1", tags=["chat"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in {
        401: "Missing or invalid API key.", 403: "The role may not do this (e.g. ask as a higher role).",
        404: "Unknown subscriber.", 413: "Body too large.", 422: "Malformed JSON or invalid field.",
        429: "Rate limit exceeded (see Retry-After).", 502: "The LLM endpoint failed.",
    }.items()
}
SSE_DOC = {
    "description": "The answer as JSON, or with `Accept: text/event-stream` a stream of events: "
                   "`citations` (first: the passages retrieved, sent as soon as retrieval returns), `tool` (each "
                   "tool call as it finishes), `token`..., then `done` (the same object as the JSON answer, "
                   "with the citations the answer kept) or `error` ({code, message}). Every `data:` line is JSON.",
    "content": {"text/event-stream": {"example": 'event: citations\ndata: [...]\n\nevent: token\n'
                                                 'data: "Offer "\n\nevent: done\ndata: {...}\n\n'}},
}


def turn_arguments(body: ChatRequest, principal: Any, settings: Any) -> dict[str, Any]:
    """Validated keyword arguments of Assistant.ask for a chat request (422/403 on bad input)."""
    check_message(body.message, settings.api_max_message_chars)
    role = effective_role(principal, body.role)
    if role == "trainee" and body.subscriber_id:
        raise APIError(403, "forbidden", "trainees practise on inline snapshots (`subscriber`), "
                       "not on real subscriber records (`subscriber_id`)")
    return dict(role=role, conversation_id=body.conversation_id, subscriber_id=body.subscriber_id,
                subscriber=body.subscriber, owner=principal.key_id)


def wants_stream(request: Request) -> bool:
    """True when the client asked for server-sent events."""
    return "text/event-stream" in request.headers.get("accept", "").lower()


@router.post("/chat", response_model=ChatResponse, responses={**ERRORS, 200: SSE_DOC},
             summary="Ask the assistant (JSON or SSE)")
async def chat(body: ChatRequest, request: Request, principal: PrincipalDep, assistant: AssistantDep,
               records: RecordsDep, settings: SettingsDep) -> Any:
    """Answer one question; answers cite the playbook passages they rest on."""
    kwargs = turn_arguments(body, principal, settings)
    if wants_stream(request):
        return StreamingResponse(
            _sse(assistant, records, principal, body.message, kwargs), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    reply = await ask(assistant, records, principal, body.message, **kwargs)
    return reply.model_dump(mode="json")


async def _sse(assistant: Any, records: Any, principal: Any, message: str, kwargs: dict[str, Any]) -> AsyncIterator[str]:
    async for event in stream_events(assistant, records, principal, message, **kwargs):
        yield sse(event.event, event.data)
