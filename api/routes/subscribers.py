"""`GET /v1/subscribers/{id}` and its `/churn`, `/offers`, `/script`: real records, so never for trainees.

Every call is audited (who looked up whom, what was offered at what cost), numbers masked.
The id may be a subscriber id or an 11-digit mobile number; logs only ever show the route template.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, RecordsDep, ServicesDep, request_id
from api.errors import APIError
from api.observability import stage
from api.routes.chat import ERRORS
from api.security import REAL_DATA_ROLES, Principal, require_role
from knowledge.errors import RetentionError

router = APIRouter(prefix="/v1/subscribers", tags=["subscribers"])
RESPONSES = {k: v for k, v in ERRORS.items() if k in (401, 403, 404, 429)}
ScriptScenario = Literal["renewal", "routine", "campus", "silent", "port_out", "new_customer",
                         "complaint_recovery"]


def _allowed(principal: Principal) -> None:
    require_role(principal, REAL_DATA_ROLES, "read real subscriber records (trainees use inline snapshots)")


def _audit(records: Any, principal: Principal, action: str, ids: list[str], offers: list[dict] = ()) -> None:  # type: ignore[assignment]
    records.audit(principal.key_id, principal.role, action, subscriber_ids=ids, offers=offers,
                  request_id=request_id())


def _risk(services: Any, subscriber_id: str) -> Any:
    from tools.churn import churn_risk

    return churn_risk(services.store, subscriber_id, services.model_dir, services.policy)


def _searcher(services: Any) -> Any:
    """The knowledge base behind the shared memoising wrapper of tools.scripts."""
    from tools.citations import cached_searcher

    return cached_searcher(services.knowledge)


def offer_inputs(services: Any, key: str) -> dict[str, Any]:
    """What recommend_offers needs for a stored subscriber (as `retention offers --subscriber`)."""
    from tools.offer_history import load_history, profile_from_subscriber
    from tools.rules import segment

    store, policy = services.store, services.policy
    sub = store.lookup(key)
    sid = sub.subscriber_id
    as_of = sub.snapshot_date or date.today()
    snapshot = store.to_snapshot(sid)
    seg = segment(snapshot, policy)
    probability = seg.rule_score.probability
    reasons = [f.factor for f in seg.rule_score.factors if f.contribution > 0]
    try:
        risk = _risk(services, sid)
        probability, reasons = risk.churn_probability, [r.factor for r in risk.reasons]
        if risk.model != "rules":
            seg = seg.model_copy(update={"risk_label": risk.risk_label})
    except RetentionError:  # no usable model: the rule score stands
        pass
    history = load_history(store, sid, as_of)
    return dict(subscriber=sub, snapshot=snapshot, segmentation=seg, churn_probability=probability,
                churn_reasons=reasons, spent_total=history.spent_total, spent_this_month=history.spent_this_month,
                recent_dispatches=history.recent_dispatches, as_of=as_of, profile=profile_from_subscriber(sub))


def offer_plan(services: Any, key: str, *, customer_initiated: bool = False, max_offers: int | None = None,
               scenario: str | None = None) -> tuple[dict[str, Any], Any]:
    """The inputs and the OfferPlan for a stored subscriber."""
    from tools.offers import recommend_offers

    inputs = offer_inputs(services, key)
    args = {k: v for k, v in inputs.items() if k != "subscriber"}
    plan = recommend_offers(**args, searcher=_searcher(services), policy=services.policy, max_offers=max_offers,
                            customer_initiated=customer_initiated, scenario=scenario)  # type: ignore[arg-type]
    return inputs, plan


@router.get("/{subscriber_id}", responses=RESPONSES, summary="One subscriber (phone masked)")
def get_subscriber(subscriber_id: str, principal: PrincipalDep, services: ServicesDep, records: RecordsDep) -> Any:
    """A subscriber's profile by id or mobile number; the phone number only appears masked."""
    _allowed(principal)
    with stage("tools"):
        sub = services.store.lookup(subscriber_id)
    _audit(records, principal, "subscriber.view", [sub.subscriber_id])
    return sub.model_dump(mode="json")


@router.get("/{subscriber_id}/churn", responses=RESPONSES, summary="Churn risk and its reasons")
def get_churn(subscriber_id: str, principal: PrincipalDep, services: ServicesDep, records: RecordsDep) -> Any:
    """Churn probability, risk label, lifecycle stage, value tier, cost caps and reasons."""
    _allowed(principal)
    with stage("tools"):
        risk = _risk(services, subscriber_id)
    _audit(records, principal, "subscriber.churn", [risk.subscriber_id])
    return risk.model_dump(mode="json")


@router.get("/{subscriber_id}/offers", responses=RESPONSES, summary="Next-best offers within budget")
def get_offers(subscriber_id: str, principal: PrincipalDep, services: ServicesDep, records: RecordsDep,
               customer_initiated: bool = Query(False, description="The customer came in or called."),
               max_offers: int | None = Query(None, ge=1, le=10)) -> Any:
    """Ordered retention offers within the value tier's caps, each with the passages it rests on."""
    _allowed(principal)
    with stage("tools"):
        inputs, plan = offer_plan(services, subscriber_id, customer_initiated=customer_initiated,
                                  max_offers=max_offers)
    body = plan.model_dump(mode="json")
    _audit(records, principal, "subscriber.offers", [inputs["subscriber"].subscriber_id], body["offers"])
    return {"subscriber_id": inputs["subscriber"].subscriber_id, **body}


@router.get("/{subscriber_id}/script", responses={**RESPONSES, 422: ERRORS[422]}, summary="A cited call script")
def get_script(subscriber_id: str, principal: PrincipalDep, services: ServicesDep, records: RecordsDep,
               scenario: ScriptScenario | None = Query(None, description="Default: detected from the subscriber."),
               lang: Literal["zh", "en"] = Query("zh")) -> Any:
    """A call script for this subscriber: eight cited sections, objections, offers and what not to promise."""
    from tools.drafts import build_facts
    from tools.scripts import draft_call_script

    _allowed(principal)
    with stage("tools"):
        inputs, plan = offer_plan(services, subscriber_id, scenario=scenario)
        seg = inputs["segmentation"]
        try:
            script = draft_call_script(
                build_facts(inputs["subscriber"], seg, as_of=inputs["as_of"]), seg, plan.offers,
                scenario=scenario or plan.scenario, lang=lang, churn_reasons=inputs["churn_reasons"],
                searcher=_searcher(services), spent_this_month=inputs["spent_this_month"],
                spent_total=inputs["spent_total"],
            )
        except ValueError as exc:  # e.g. a detected scenario that has no script scaffold
            raise APIError(422, "validation_error", f"scenario: {exc}", fields=["scenario"]) from None
    body = script.model_dump(mode="json")
    _audit(records, principal, "subscriber.script", [inputs["subscriber"].subscriber_id], body.get("offers") or [])
    return {"subscriber_id": inputs["subscriber"].subscriber_id, **body}
