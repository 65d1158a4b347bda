"""`POST /v1/outcomes` and `GET /v1/outcomes`: the retention contacts of the outcome log.

Agents log their own contacts (the agent id is the caller's key id) and read their own; supervisors and
admins may log for any agent and read everyone's. Trainees work on snapshots only: 403. Every write is
audited (who logged a contact for whom, with which measure codes and cost), numbers masked.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, RecordsDep, ServicesDep, request_id
from api.errors import APIError
from api.routes.chat import ERRORS
from api.security import REAL_DATA_ROLES, require_role
from tools.outcomes import OutcomeCreate, OutcomePublic

router = APIRouter(prefix="/v1", tags=["outcomes"])
RESPONSES = {k: v for k, v in ERRORS.items() if k in (401, 403, 404, 413, 422, 429)}
ALL_AGENTS_ROLES = ("supervisor", "admin")


class OutcomeIn(OutcomeCreate):
    """A contact to log; `agent_id` defaults to the caller's key id."""

    agent_id: str | None = None  # type: ignore[assignment]


@router.post("/outcomes", response_model=OutcomePublic, status_code=201, summary="Log a retention contact",
             responses=RESPONSES)
async def log_outcome(body: OutcomeIn, principal: PrincipalDep, services: ServicesDep,
                      records: RecordsDep) -> OutcomePublic:
    """Record who was contacted, how, with which measures and cost, and the result (agents: their own)."""
    from tools.outcomes import record_outcome

    require_role(principal, REAL_DATA_ROLES, "log retention contacts")
    agent = body.agent_id or principal.key_id
    if principal.role not in ALL_AGENTS_ROLES and agent != principal.key_id:
        raise APIError(403, "forbidden", "an agent may only log their own contacts (leave agent_id out)")
    outcome = OutcomeCreate(**{**body.model_dump(exclude={"agent_id"}), "agent_id": agent})
    record = await run_in_threadpool(record_outcome, services.outcome_log, services.store, outcome)
    offers = [{"measure_code": code, "total_cost": record.cost} for code in record.measure_codes]
    await run_in_threadpool(lambda: records.audit(
        principal.key_id, principal.role, "outcome.log", subscriber_ids=[record.subscriber_id], offers=offers,
        detail=f"{record.scenario} {record.channel} {record.result}", request_id=request_id()))
    return record


@router.get("/outcomes", response_model=list[OutcomePublic], summary="List retention contacts",
            responses={k: v for k, v in RESPONSES.items() if k != 413})
async def list_outcomes(
    principal: PrincipalDep,
    services: ServicesDep,
    subscriber_id: str | None = Query(None, max_length=64, description="Only this subscriber (id or mobile)."),
    agent_id: str | None = Query(None, max_length=128, description="Only this agent (supervisors, admins)."),
    since: date | None = Query(None, description="Contacts from this day on."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[OutcomePublic]:
    """Contacts, newest first: everyone's for supervisors and admins, your own for agents."""
    require_role(principal, REAL_DATA_ROLES, "read retention contacts")
    if principal.role not in ALL_AGENTS_ROLES:
        if agent_id is not None and agent_id != principal.key_id:
            raise APIError(403, "forbidden", "an agent may only read their own contacts")
        agent_id = principal.key_id

    def read() -> list[OutcomePublic]:
        sid = subscriber_id
        if sid is not None and services.store.exists():
            sid = services.store.lookup(sid).subscriber_id
        return services.outcome_log.list(sid, agent_id, since, limit)

    return await run_in_threadpool(read)
