"""`GET /v1/conversations`, `GET|DELETE /v1/conversations/{id}`: your own conversations only."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, ServicesDep
from api.errors import APIError
from api.routes.chat import ERRORS
from api.schemas import ConversationOut, ConversationSummary, MessageOut

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])
OWN = {k: v for k, v in ERRORS.items() if k in (401, 404, 429)}


def _not_found(conversation_id: str) -> APIError:
    return APIError(404, "conversation_not_found", f"no conversation {conversation_id!r} of yours")


@router.get("", response_model=list[ConversationSummary], responses=OWN, summary="Your conversations")
async def list_conversations(principal: PrincipalDep, services: ServicesDep,
                             limit: int = Query(50, ge=1, le=200)) -> list[ConversationSummary]:
    """Your conversations, newest first (without messages)."""
    found = await run_in_threadpool(services.conversations.list, principal.key_id, limit)
    return [ConversationSummary(**c.model_dump(exclude={"messages", "owner"})) for c in found]


@router.get("/{conversation_id}", response_model=ConversationOut, responses=OWN, summary="One conversation")
async def get_conversation(conversation_id: str, principal: PrincipalDep, services: ServicesDep) -> ConversationOut:
    """One of your conversations with its messages (another user's id is 404)."""
    convo = await run_in_threadpool(services.conversations.get, conversation_id, principal.key_id)
    if convo is None:
        raise _not_found(conversation_id)
    messages = [MessageOut(index=i, **m.model_dump()) for i, m in enumerate(convo.messages)]
    return ConversationOut(**convo.model_dump(exclude={"messages", "owner"}), messages=messages)


@router.delete("/{conversation_id}", status_code=204, responses=OWN, summary="Delete a conversation")
async def delete_conversation(conversation_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete one of your conversations and its messages (another user's id is 404)."""
    if not await run_in_threadpool(services.conversations.delete, conversation_id, principal.key_id):
        raise _not_found(conversation_id)
    return Response(status_code=204)
