"""`retention script`: a cited call script for one subscriber (offers from the next-best-offer engine)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli_offers import (
    CatalogueOption,
    DataDirOption,
    JsonOption,
    PolicyOption,
    SnapshotOption,
    SubscriberOption,
)

if TYPE_CHECKING:
    from tools.schemas import CallScript

log = logging.getLogger(__name__)

SCRIPT_SCENARIOS = ("renewal", "routine", "campus", "silent", "port_out", "new_customer", "complaint_recovery")


def register(app: typer.Typer) -> None:
    """Add the `script` command to `app`."""
    app.command("script")(script_command)


def script_command(
    subscriber: SubscriberOption = None,
    subscriber_json: SnapshotOption = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help=f"One of {', '.join(SCRIPT_SCENARIOS)}; default: the offer plan's."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    json_output: JsonOption = False,
    agent: Annotated[str | None, typer.Option("--agent", help="Your name, for the greeting.")] = None,
    work_number: Annotated[str | None, typer.Option("--work-number", help="Your work number (工号).")] = None,
    policy: PolicyOption = None,
    catalogue: CatalogueOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A call script for one subscriber: eight cited sections, objections chosen by churn reasons, do-nots."""
    from assistant.cli import emit_json, fail
    from assistant.cli_offers import plan_for, subscriber_facts
    from knowledge.errors import RetentionError
    from tools.scripts import draft_call_script

    if scenario is not None and scenario not in SCRIPT_SCENARIOS:
        fail(f"unknown scenario {scenario!r}; expected one of {', '.join(SCRIPT_SCENARIOS)}")
    if lang not in ("zh", "en"):
        fail(f"unknown language {lang!r}; expected zh or en")
    inputs, plan, searcher = plan_for(subscriber, subscriber_json, policy, catalogue, data_dir, scenario=scenario)
    try:
        script = draft_call_script(
            subscriber_facts(subscriber, data_dir, inputs), inputs["segmentation"], plan.offers,
            scenario=scenario or plan.scenario, lang=lang, churn_reasons=inputs["churn_reasons"],
            searcher=searcher, agent_name=agent, work_number=work_number,
            spent_this_month=inputs["spent_this_month"], spent_total=inputs["spent_total"],
        )
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(script)
    else:
        _print_script(script)


def _print_script(script: CallScript) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    zh = script.lang == "zh"
    console.print(f"[bold]{'通话脚本' if zh else 'Call script'}[/bold] · {script.scenario}")
    for i, section in enumerate(script.sections, start=1):
        console.print(f"\n[bold]{i}. {section.title}[/bold] [dim]({section.name})[/dim]")
        for line in section.lines:
            console.print(f"  • {line}", markup=False)
        for note in section.notes:
            console.print(f"  [dim]{'提示' if zh else 'note'}: {escape(note)}[/dim]")
        for c in section.citations:
            console.print(f"    ↳ {c.source} § {c.section} [{c.id}]", markup=False, style="dim")
    if script.objections:
        console.print(f"\n[bold]{'异议清单' if zh else 'Objections'}[/bold]")
        for o in script.objections:
            console.print(f"  ◆ {o.objection}", markup=False)
            console.print(f"    → {o.response}", markup=False)
            for c in o.citations:
                console.print(f"      ↳ {c.source} § {c.section} [{c.id}]", markup=False, style="dim")
    if script.offers:
        console.print(f"\n[bold]{'方案' if zh else 'Offers'}[/bold]")
        for i, offer in enumerate(script.offers, start=1):
            title = offer.title_zh if zh else offer.title_en
            console.print(f"  {i}. {offer.measure_code} {title}", markup=False)
    console.print(f"\n[bold]{'禁止事项' if zh else 'Do not'}[/bold]")
    for item in script.do_not:
        console.print(f"  ✗ {item}", markup=False)
