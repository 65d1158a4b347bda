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
    return {"found": len(citations), "ids": [p.id for p in passages]}, citations


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
    brand: str | None = None
    contract_expiring_within_days: int | None = Field(None, ge=0, le=366)
    top_n: int = Field(10, ge=1, le=50)


def _high_risk(services: Any, args: HighRiskArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.churn_batch import high_risk_list

    return high_risk_list(services.store, services.model_dir, services.policy,
                          **args.model_dump(exclude_none=True)), []


class SnapshotArgs(_Args):
    """An inline subscriber snapshot (synthetic or anonymised), as in `retention segment`."""

    snapshot: SubscriberSnapshot


def _segment(services: Any, args: SnapshotArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.rules import segment

    return segment(args.snapshot, services.policy), []


# --- offers and scripts ------------------------------------------------------------------------
class OfferArgs(_Args):
    """A stored subscriber (id or phone) or an inline snapshot; default: the subscriber in focus."""

    subscriber: str | None = Field(None, max_length=32, description="Subscriber id or mobile number.")
    snapshot: SubscriberSnapshot | None = Field(None, description="Inline snapshot instead of an id.")
    customer_initiated: bool = Field(False, description="The customer came in or called (walk-in rules).")
    max_offers: int = Field(3, ge=1, le=5, description="At most this many offers (the playbook: few at once).")
    scenario: Literal["renewal", "routine", "campus", "silent", "port_out", "new_customer",
                      "complaint_recovery", "collection"] | None = Field(
        None, description="Force a scenario; default: detected from the subscriber's situation.")


class ScriptArgs(OfferArgs):
    """Arguments of draft_call_script."""

    scenario: Literal["renewal", "routine", "campus", "silent", "port_out", "new_customer",
                      "complaint_recovery"] | None = Field(None, description="Default: the offer plan's scenario.")
    lang: Literal["zh", "en"] = "zh"


def _offer_context(services: Any, args: OfferArgs, turn: Any) -> tuple[dict[str, Any], Any]:
    """Inputs of the offer engine and the facts a script may state, for a subscriber or a snapshot."""
    from tools.drafts import build_facts
    from tools.errors import InvalidInput
    from tools.offer_inputs import offer_inputs, snapshot_inputs

    key = args.subscriber or (None if args.snapshot is not None else turn.focus_subscriber)
    if key is not None:
        if turn.role == "trainee":
            raise InvalidInput("trainees practise on inline (synthetic) snapshots, not on real subscribers")
        inputs = offer_inputs(services.store, key, services.model_dir, services.policy)
        record = services.store.lookup(key)
        turn.focus_subscriber = record.subscriber_id
        return inputs, build_facts(record, inputs["segmentation"], as_of=inputs.get("as_of"))
    if args.snapshot is None:
        raise InvalidInput("which subscriber? give a subscriber id or phone number, or an inline snapshot")
    inputs = snapshot_inputs(args.snapshot, services.policy)
    return inputs, build_facts(args.snapshot, inputs["segmentation"], as_of=inputs.get("as_of"))


def _plan(services: Any, args: OfferArgs, inputs: dict[str, Any], scenario: str | None = None) -> Any:
    from tools.offers import recommend_offers

    return recommend_offers(**inputs, searcher=services.knowledge, policy=services.policy,
                            max_offers=args.max_offers, customer_initiated=args.customer_initiated,
                            scenario=scenario)


def _offers(services: Any, args: OfferArgs, turn: Any) -> tuple[Any, list[Citation]]:
    inputs, _ = _offer_context(services, args, turn)
    plan = _plan(services, args, inputs, scenario=args.scenario)
    return plan, [c for offer in plan.offers for c in offer.citations]


def _script(services: Any, args: ScriptArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.scripts import draft_call_script

    inputs, facts = _offer_context(services, args, turn)
    plan = _plan(services, args, inputs, scenario=args.scenario)
    script = draft_call_script(
        facts, inputs["segmentation"], plan.offers, scenario=args.scenario or plan.scenario, lang=args.lang,
        churn_reasons=inputs["churn_reasons"], searcher=services.knowledge,
        spent_this_month=inputs["spent_this_month"], spent_total=inputs["spent_total"],
    )
    citations = [c for section in script.sections for c in section.citations]
    citations += [c for objection in script.objections for c in objection.citations]
    return script, citations


class MessagesArgs(OfferArgs):
    """Arguments of draft_offer_messages."""

    channels: list[Literal["sms", "email", "call"]] = Field(
        default_factory=lambda: ["sms", "call"], min_length=1, description="Which wordings to draft.")
    lang: Literal["zh", "en"] = "zh"
    max_offers: int = Field(1, ge=1, le=3, description="Draft for the first N offers of the plan.")


def _messages(services: Any, args: MessagesArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.drafts import draft_offer_messages

    inputs, facts = _offer_context(services, args, turn)
    plan = _plan(services, args, inputs, scenario=args.scenario)
    drafts = [{"measure_code": offer.measure_code, "title": offer.title_zh if args.lang == "zh" else offer.title_en,
               "drafts": draft_offer_messages(offer, facts, args.lang, channels=tuple(args.channels))}
              for offer in plan.offers[: args.max_offers]]
    return {"scenario": plan.scenario, "messages": drafts}, [c for o in plan.offers[: args.max_offers] for c in o.citations]


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
        ToolSpec(
            "recommend_offers",
            "Next-best retention offers for a subscriber (or an inline snapshot): ordered by the "
            "playbooks and by expected retained value, never above the value tier's monthly or total "
            "cost cap, with measure codes, costs, the reasons and cited passages. Passive churners "
            "(long arrears) get collection, low-value subscribers no proactive cost.",
            OfferArgs, _offers,
        ),
        ToolSpec(
            "draft_call_script",
            "A call script for a subscriber (or an inline snapshot) and scenario: greeting with work "
            "number, verification, empathy, needs probing, offer presentation, objection handling "
            "chosen by the churn reasons, close, follow-up and logging, each section cited, plus "
            "what not to say or promise.",
            ScriptArgs, _script,
        ),
        ToolSpec(
            "draft_offer_messages",
            "Customer-facing wording (SMS, e-mail, in-call lines) for the top offer(s) of a subscriber's "
            "offer plan, personalised with their facts and within the budget rules; the SMS stays within "
            "one message where possible.",
            MessagesArgs, _messages,
        ),
    ]
}

# Capabilities with their own modules register here (imported last: they use ToolSpec above).
from assistant.tool_specs_reports import REPORT_TOOL_SPECS  # noqa: E402
from assistant.tool_specs_roleplay import ROLEPLAY_TOOL_SPECS  # noqa: E402
from assistant.tool_specs_training import TRAINING_TOOL_SPECS  # noqa: E402

TOOL_SPECS.update({spec.name: spec for spec in [*REPORT_TOOL_SPECS, *TRAINING_TOOL_SPECS, *ROLEPLAY_TOOL_SPECS]})
