"""The assistant's tools: argument schemas, the descriptions models read, and how each runs.

Each `run` takes the Services, the validated arguments and the Turn, and returns the result plus the
playbook passages it rests on (which become citable in this turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.schemas import Citation, SubscriberSnapshot


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the assistant sees it."""

    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any, Any, Any], tuple[Any, list[Citation]]]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- search_playbooks ------------------------------------------------------------------------
class SearchArgs(_Args):
    """Arguments of search_playbooks."""

    query: str = Field(..., min_length=1, max_length=500, description="Question or keywords, zh or en.")
    k: int = Field(5, ge=1, le=10, description="How many passages.")
    topic: str | None = Field(None, description="Only this playbook topic, e.g. renewal, silent.")


def _search(services: Any, args: SearchArgs, turn: Any) -> tuple[Any, list[Citation]]:
    passages = services.knowledge.search(args.query, k=args.k, topics=[args.topic] if args.topic else None)
    citations = [Citation(id=p.id, source=p.source, section=p.section, text=p.text) for p in passages]
    return {"found": len(citations)}, citations


# --- subscribers -----------------------------------------------------------------------------
class SubscriberArgs(_Args):
    """A subscriber by id or 11-digit mobile number."""

    subscriber: str = Field(..., min_length=1, max_length=32, description="Subscriber id or mobile number.")


def _get_subscriber(services: Any, args: SubscriberArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.subscribers import get_subscriber

    subscriber = get_subscriber(services.store, args.subscriber)
    turn.focus_subscriber = subscriber.subscriber_id
    return subscriber, []


class FindArgs(_Args):
    """Filters for find_subscribers (all optional, combined with AND)."""

    brand: str | None = None
    region: str | None = None
    payment_type: Literal["postpaid", "quasi_prepaid", "prepaid"] | None = None
    value_tier: Literal["high", "medium", "low", "group"] | None = None
    contract_expiring_within_days: int | None = Field(None, ge=0, le=366)
    in_arrears: bool | None = None
    min_complaints_90d: int | None = Field(None, ge=0)
    min_silent_days: int | None = Field(None, ge=0)
    limit: int = Field(10, ge=1, le=50)


def _find(services: Any, args: FindArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.subscribers import find_subscribers

    return find_subscribers(services.store, **args.model_dump(exclude_none=True)), []


def _churn_risk(services: Any, args: SubscriberArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.churn import churn_risk

    risk = churn_risk(services.store, args.subscriber, services.model_dir, services.policy)
    turn.focus_subscriber = risk.subscriber_id
    return risk, []


class HighRiskArgs(_Args):
    """Filters for high_risk_list."""

    risk_label: Literal["stable", "low", "medium", "high", "churned"] | None = None
    value_tier: Literal["high", "medium", "low", "group"] | None = None
    region: str | None = None
    contract_expiring_within_days: int | None = Field(None, ge=0, le=366)
    top_n: int = Field(10, ge=1, le=50)


def _high_risk(services: Any, args: HighRiskArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.churn import high_risk_list

    return high_risk_list(services.store, services.model_dir, services.policy,
                          **args.model_dump(exclude_none=True)), []


class SnapshotArgs(_Args):
    """An inline subscriber snapshot (synthetic or anonymised), as in `retention segment`."""

    snapshot: SubscriberSnapshot


def _segment(services: Any, args: SnapshotArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.rules import segment

    return segment(args.snapshot, services.policy), []


TOOL_SPECS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in [
        ToolSpec(
            "search_playbooks",
            "Search the retention playbooks (Chinese and English) and return the best passages with "
            "their citation ids. Use it for any question about rules, thresholds, scripts, offers or "
            "KPIs, and cite the passages you use as [id].",
            SearchArgs, _search,
        ),
        ToolSpec(
            "get_subscriber",
            "Look up one subscriber by id or mobile number: brand, plan, tenure, contract end, "
            "usage, complaints, arrears, points. Phone numbers come back masked.",
            SubscriberArgs, _get_subscriber,
        ),
        ToolSpec(
            "find_subscribers",
            "List subscribers matching filters (brand, region, payment type, value tier, contract "
            "expiring within N days, arrears, complaints, silent days).",
            FindArgs, _find,
        ),
        ToolSpec(
            "churn_risk",
            "Churn risk of one subscriber for the next 3 months: probability, risk label, lifecycle "
            "stage, value tier, retention cost caps and the reasons behind the score.",
            SubscriberArgs, _churn_risk,
        ),
        ToolSpec(
            "high_risk_list",
            "The subscribers most worth retaining now, ranked by expected loss (probability x ARPU "
            "x 12), with optional filters by risk label, value tier, region, contract expiry.",
            HighRiskArgs, _high_risk,
        ),
        ToolSpec(
            "segment_snapshot",
            "Classify an inline subscriber snapshot with the playbook rules: lifecycle stage, risk "
            "label, value tier, cost caps, early-warning signals and reasons.",
            SnapshotArgs, _segment,
        ),
    ]
}
