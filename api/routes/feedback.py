"""`POST /v1/feedback`: thumbs up or down on an answer of one of your conversations."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, RecordsDep, ServicesDep
from api.errors import APIError
from api.routes.chat import ERRORS
from api.schemas import FeedbackIn, FeedbackOut

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", response_model=FeedbackOut, status_code=201, summary="Rate an answer",
             responses={k: v for k, v in ERRORS.items() if k in (401, 404, 413, 422, 429)})
async def feedback(body: FeedbackIn, principal: PrincipalDep, services: ServicesDep, records: RecordsDep) -> FeedbackOut:
    """Store a rating (and optional comment) for one answer; the conversation must be yours."""
    convo = await run_in_threadpool(services.conversations.get, body.conversation_id, principal.key_id)
    if convo is None:
        raise APIError(404, "conversation_not_found", f"no conversation {body.conversation_id!r} of yours")
    index = body.message_index
    if index is None and body.answer_id is None:
        answers = [i for i, m in enumerate(convo.messages) if m.role == "assistant"]
        index = answers[-1] if answers else None  # default: the latest answer
    if index is not None and (index >= len(convo.messages) or convo.messages[index].role != "assistant"):
        raise APIError(422, "validation_error", f"message_index: {index} is not an answer of this conversation",
                       fields=["message_index"])
    row = await run_in_threadpool(lambda: records.add_feedback(
        principal.key_id, convo.id, body.rating, message_index=index, answer_id=body.answer_id,
        comment=body.comment))
    return FeedbackOut(**{k: row[k] for k in FeedbackOut.model_fields})
