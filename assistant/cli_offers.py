"""`retention offers`: next-best retention offers for one subscriber, within budget, with citations."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tools.schemas import OfferPlan

log = logging.getLogger(__name__)

# Keys an inline snapshot file may carry besides the SubscriberSnapshot and SubscriberProfile fields.
EXTRA_KEYS = ("churn_probability", "churn_reasons", "spent_total", "spent_this_month",
              "recent_dispatches", "as_of")


# Options shared by the commands that work on one subscriber (offers, script, drafts).
SubscriberOption = Annotated[
    str | None, typer.Option("--subscriber", "-s", help="Subscriber id or mobile number in the store.")
]
SnapshotOption = Annotated[
    str | None,
    typer.Option("--subscriber-json", help="Snapshot JSON file as for `retention segment` ('-' = stdin); "
                 "may add profile fields (handset_gen, plan_type, mou_month, data_mb_month...), "
                 "churn_probability, spent_total, spent_this_month, recent_dispatches, as_of."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="Operator policy YAML.")]
CatalogueOption = Annotated[Path | None, typer.Option("--catalogue", help="Operator measure catalogue YAML.")]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Data directory of the store.")]


def register(app: typer.Typer) -> None:
    """Add the `offers` command to `app`."""
    app.command("offers")(offers_command)


def offers_command(
    subscriber: SubscriberOption = None,
    subscriber_json: SnapshotOption = None,
    json_output: JsonOption = False,
    customer_initiated: Annotated[
        bool, typer.Option("--customer-initiated", help="The customer came in or called (walk-in rules).")
    ] = False,
    max_offers: Annotated[int | None, typer.Option("--max-offers", min=1, max=10, help="At most N offers.")] = None,
    policy: PolicyOption = None,
    catalogue: CatalogueOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Next-best retention offers for one subscriber: ordered, within the value tier's caps, cited."""
    from assistant.cli import emit_json
    from tools.schemas import Offer

    _, plan, _ = plan_for(subscriber, subscriber_json, policy, catalogue, data_dir,
                          max_offers=max_offers, customer_initiated=customer_initiated)
    if json_output:
        fields = set(Offer.model_fields)
        emit_json([offer.model_dump(mode="json", include=fields) for offer in plan.offers])
    else:
        _print_plan(plan)


def plan_for(subscriber: str | None, subscriber_json: str | None, policy: Path | None, catalogue: Path | None,
             data_dir: Path | None, **engine_args: Any) -> tuple[dict[str, Any], OfferPlan, Any]:
    """(engine inputs, offer plan, knowledge base) for the one subscriber the options name; a missing
    or doubled subscriber, an unknown one, or a bad policy or catalogue exits 1 with one line."""
    from assistant.cli import fail
    from assistant.config import get_settings
    from knowledge.errors import RetentionError
    from tools.catalogue import load_catalogue
    from tools.offers import recommend_offers
    from tools.policy import load_policy

    if (subscriber is None) == (subscriber_json is None):
        fail("give exactly one of --subscriber ID or --subscriber-json FILE")
    try:
        pol = load_policy(policy or get_settings().policy_file)
        inputs = subscriber_inputs(subscriber, subscriber_json, pol, data_dir)
        searcher = knowledge_base()  # the engine and the scripts cache citations per KB version
        plan = recommend_offers(**inputs, searcher=searcher, catalogue=load_catalogue(catalogue), policy=pol,
                                **engine_args)
    except RetentionError as exc:
        fail(str(exc))
    return inputs, plan, searcher


def subscriber_inputs(subscriber: str | None, subscriber_json: str | None, policy: Any,
                      data_dir: Path | None) -> dict[str, Any]:
    """`recommend_offers` keyword arguments for a stored subscriber (id or number, with the trained
    churn model when there is one) or for an inline snapshot file ('-' = stdin)."""
    from assistant.config import get_settings

    if subscriber_json is not None:
        return inputs_from_json(read_snapshot_text(subscriber_json), policy)
    from tools.offer_inputs import offer_inputs
    from tools.subscribers import SubscriberStore

    settings = get_settings()
    root = data_dir or settings.data_dir
    use_settings_model = data_dir is None and settings.churn_model_dir is not None
    model_dir = settings.churn_model_dir if use_settings_model else root / "models" / "churn"
    return offer_inputs(SubscriberStore(root), str(subscriber), model_dir, policy)


def subscriber_facts(subscriber: str | None, data_dir: Path | None, inputs: dict[str, Any]) -> Any:
    """What a script or a message may say about the subscriber: the stored record, or the snapshot."""
    from assistant.config import get_settings
    from tools.drafts import build_facts
    from tools.subscribers import SubscriberStore

    seg = inputs["segmentation"]
    if subscriber is not None:
        record = SubscriberStore(data_dir or get_settings().data_dir).lookup(subscriber)
        return build_facts(record, seg, as_of=inputs.get("as_of"))
    facts = build_facts(inputs["snapshot"], seg, as_of=inputs.get("as_of"))
    profile = inputs.get("profile")
    if profile is not None and profile.plan_fee is not None:
        facts = facts.model_copy(update={"plan_fee": profile.plan_fee, "vip_level": profile.vip_level})
    return facts


def knowledge_base() -> Any:
    """The playbook knowledge base; the configured playbooks are ingested first if it is empty."""
    from assistant.services import get_services

    services = get_services()
    services.ensure_knowledge()
    return services.knowledge


def read_snapshot_text(source: str) -> str:
    from assistant.cli import fail

    if source == "-":
        if sys.stdin is None or sys.stdin.isatty():
            fail("--subscriber-json -: pipe the snapshot JSON on stdin")
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read snapshot file {source}: {exc}")


def inputs_from_json(text: str, policy: Any) -> dict[str, Any]:
    """Snapshot, profile and history from an inline JSON object; bad input exits 1 naming the field."""
    from pydantic import BaseModel, ValidationError

    from assistant.cli import fail
    from tools.rules import segment
    from tools.schemas import DispatchRecord, SubscriberProfile, SubscriberSnapshot

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"snapshot is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(data, dict):
        fail(f"snapshot must be a JSON object of subscriber fields, not a {type(data).__name__}")
    profile_keys = set(SubscriberProfile.model_fields)
    unknown = sorted(set(data) - set(SubscriberSnapshot.model_fields) - profile_keys - set(EXTRA_KEYS))
    if unknown:
        fail("invalid snapshot: " + "; ".join(f"{k}: unknown field" for k in unknown))

    def parse(model: type[BaseModel], values: dict[str, Any], prefix: str = "") -> Any:
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                where = prefix + (".".join(str(p) for p in error["loc"]) or "(snapshot)")
                message = {"missing": "required field is missing"}.get(error["type"], error["msg"])
                problems.append(f"{where}: {message}")
            fail("invalid snapshot: " + "; ".join(problems))

    snapshot = parse(SubscriberSnapshot, {k: v for k, v in data.items() if k in SubscriberSnapshot.model_fields})
    profile = parse(SubscriberProfile, {k: v for k, v in data.items() if k in profile_keys})
    dispatches = data.get("recent_dispatches") or []
    if not isinstance(dispatches, list):
        fail("invalid snapshot: recent_dispatches: must be a list of {date, scenario, measure_codes, cost}")
    records = [parse(DispatchRecord, d, f"recent_dispatches.{i}.") for i, d in enumerate(dispatches)]
    seg = segment(snapshot, policy)
    probability = data.get("churn_probability", seg.rule_score.probability)
    reasons = data.get("churn_reasons") or [f.factor for f in seg.rule_score.factors if f.contribution > 0]
    numbers = {k: data.get(k, 0.0) for k in ("spent_total", "spent_this_month")}
    for key, value in {"churn_probability": probability, **numbers}.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                key == "churn_probability" and value > 1):
            bounds = " between 0 and 1" if key == "churn_probability" else " >= 0"
            fail(f"invalid snapshot: {key}: must be a number{bounds}")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        fail("invalid snapshot: churn_reasons: must be a list of reason codes")
    try:
        as_of = date.fromisoformat(data["as_of"]) if data.get("as_of") else date.today()
    except (TypeError, ValueError):
        fail("invalid snapshot: as_of: must be a date like 2025-12-31")
    return dict(snapshot=snapshot, segmentation=seg, churn_probability=float(probability),
                churn_reasons=reasons, recent_dispatches=records, as_of=as_of, profile=profile,
                **{k: float(v) for k, v in numbers.items()})


def _print_plan(plan: OfferPlan) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"[bold]场景 Scenario[/bold]: {plan.scenario_zh} {plan.scenario_en}   "
                  f"价值 {plan.value_tier} · 风险 {plan.risk_label} · 流失概率 {plan.churn_probability:.2f}")
    table = Table(show_lines=False)
    for name in ("#", "编码 Code", "方案 Offer", "每月 Monthly", "一次性 One-off", "上限 Caps (m/total)", "期望价值 EV"):
        table.add_column(name)
    for i, o in enumerate(plan.offers, start=1):
        table.add_row(str(i), o.measure_code, f"{o.title_zh}\n{o.title_en}", f"{o.monthly_cost:.2f}",
                      f"{o.one_off_cost:.2f}", f"{o.cap_monthly:.2f} / {o.cap_total:.2f}", f"{o.expected_value:.2f}")
    console.print(table)
    for i, o in enumerate(plan.offers, start=1):
        console.print(f"[bold]{i}. {o.measure_code} {o.title_zh} / {o.title_en}[/bold]")
        for line in o.why:
            console.print(f"   {line}", markup=False)
        for c in o.citations:
            console.print(f"   ↳ {c.source} § {c.section} [{c.id}]", markup=False)
    console.print("[bold]说明 Notes[/bold]")
    for zh, en in zip(plan.notes_zh, plan.notes_en):
        console.print(f"  • {zh}\n    {en}", markup=False)
    if plan.excluded:
        console.print("[bold]未采用 Excluded[/bold]")
        for e in plan.excluded:
            console.print(f"  • {e.measure_code} {e.family} [{e.rule}]: {e.reason_zh} / {e.reason_en}", markup=False)
