"""Role-play practice: start a call with a synthetic customer, talk turn by turn, finish for a grade.

`POST /v1/training/roleplay` starts (scenario, seed, lang -> session id, preparation card, the
customer's opening line); `.../{id}/turn` sends one trainee line; `.../{id}/finish` grades the call
on the playbook rubric. `GET /v1/training/sessions` lists sessions: supervisors and admins see
everyone's (filter with `trainee`), other roles their own. No real subscriber record is touched.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, ServicesDep, SettingsDep
from api.errors import APIError
from api.routes.chat import ERRORS
from api.security import Principal, check_message
from tools.training.practice import RoleplayOver, RoleplayStart, RoleplayTurn, SessionNotFound
from tools.training.sessions import RoleplayRecord, RoleplaySummary

router = APIRouter(prefix="/v1/training", tags=["training"])
SUPERVISING: tuple[str, ...] = ("supervisor", "admin")
RESPONSES = {k: v for k, v in ERRORS.items() if k in (401, 404, 413, 422, 429)}
RoleplayScenario = Literal["renewal", "routine", "campus", "silent", "port_out", "complaint_recovery", "new_customer"]


class RoleplayStartIn(BaseModel):
    """Which practice call to start; the same seed gives the same synthetic customer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"scenario": "renewal", "seed": 7, "lang": "zh"}, {"scenario": "port_out", "lang": "en"}]})

    scenario: RoleplayScenario | None = Field(None, description="Default: chosen by the seed.")
    seed: int | None = Field(None, ge=0, le=1_000_000_000, description="Default: random.")
    lang: Literal["zh", "en"] = "zh"


class RoleplayLineIn(BaseModel):
    """One line the trainee says to the customer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"message": "您好，我是您的专属服务经理小李，工号A1023，请问您现在方便接听吗？"},
        {"message": "Am I speaking with the account holder for the number ending 4571?"}]})

    message: str = Field(..., min_length=1)


def _practice(services: Any) -> Any:
    from assistant.roleplay_llm import practice_for

    return practice_for(services)


def _not_found(session_id: str) -> APIError:
    return APIError(404, "session_not_found", f"no role-play session {session_id!r} of yours")


async def _call(fn: Any, *args: Any, session_id: str = "") -> Any:
    try:
        return await run_in_threadpool(fn, *args)
    except SessionNotFound:
        raise _not_found(session_id) from None
    except RoleplayOver as exc:
        raise APIError(409, "roleplay_over", str(exc)) from None


def _may_supervise(principal: Principal) -> bool:
    return principal.role in SUPERVISING


@router.post("/roleplay", response_model=RoleplayStart, status_code=201, responses=RESPONSES,
             summary="Start a role-play with a synthetic customer")
async def start_roleplay(body: RoleplayStartIn, principal: PrincipalDep, services: ServicesDep) -> RoleplayStart:
    """A new practice call: session id, the preparation card (tier, stage, caps) and the customer's first words."""
    practice = _practice(services)
    return await _call(lambda: practice.start(owner=principal.key_id, role=principal.role, scenario=body.scenario,
                                              seed=body.seed, lang=body.lang))


@router.post("/roleplay/{session_id}/turn", response_model=RoleplayTurn, responses={**RESPONSES, 409: {
    "model": ERRORS[404]["model"], "description": "The call is over: finish it to see the grade."}},
             summary="Say one line to the customer")
async def roleplay_turn(session_id: str, body: RoleplayLineIn, principal: PrincipalDep, services: ServicesDep,
                        settings: SettingsDep) -> RoleplayTurn:
    """The customer's reply to one trainee line, the call state (mood, objection raised, outcome)."""
    check_message(body.message, settings.api_max_message_chars)
    practice = _practice(services)
    return await _call(practice.turn, session_id, principal.key_id, body.message, session_id=session_id)


@router.post("/roleplay/{session_id}/finish", response_model=RoleplayRecord, responses=RESPONSES,
             summary="Finish and grade the call")
async def finish_roleplay(session_id: str, principal: PrincipalDep, services: ServicesDep) -> RoleplayRecord:
    """The graded session: score per criterion with the evidence line and the playbook citation, and a plan."""
    practice = _practice(services)
    return await _call(practice.finish, session_id, principal.key_id, session_id=session_id)


@router.get("/sessions", response_model=list[RoleplaySummary], responses=RESPONSES,
            summary="Role-play sessions (supervisors: everyone's)")
async def list_sessions(principal: PrincipalDep, services: ServicesDep,
                        trainee: str | None = Query(None, description="Only this API key id's sessions."),
                        limit: int = Query(50, ge=1, le=500)) -> list[RoleplaySummary]:
    """Newest first. Supervisors and admins see every trainee's sessions; other roles only their own."""
    from assistant.roleplay_llm import roleplay_store

    if not _may_supervise(principal):
        if trainee not in (None, principal.key_id):
            raise APIError(403, "forbidden", f"the {principal.role} role may only list its own sessions")
        trainee = principal.key_id
    store = roleplay_store(services.settings)
    return await run_in_threadpool(lambda: store.list(owner=trainee, limit=limit))


@router.get("/sessions/{session_id}", response_model=RoleplayRecord, responses=RESPONSES,
            summary="One role-play session with its transcript and grade")
async def get_session(session_id: str, principal: PrincipalDep, services: ServicesDep) -> RoleplayRecord:
    """A session of yours (supervisors and admins: anyone's), with persona, transcript and grade."""
    practice = _practice(services)
    owner = None if _may_supervise(principal) else principal.key_id
    record = await _call(practice.get, session_id, owner, session_id=session_id)
    if record.status == "open" and not _may_supervise(principal):  # no peeking at the hidden persona mid-call
        hidden = {"persona": "", "temperament": "", "wants": "", "threat": "", "objections": []}
        record = record.model_copy(update={"persona": record.persona.model_copy(update=hidden)})
    return record
