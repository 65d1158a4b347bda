"""`retention segment`: classify one subscriber snapshot with the playbook rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tools.schemas import Segmentation, SubscriberSnapshot


def register(app: typer.Typer) -> None:
    """Add the `segment` command to `app`."""
    app.command("segment")(segment_command)
    if not (app.registered_callback or app.info.callback):
        # typer runs a one-command app as that command; a no-op root callback keeps
        # `retention segment` a subcommand even while it is the only command registered.
        app.callback()(_root)


def _root() -> None:
    pass


def segment_command(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Operator policy YAML, merged over the shipped default."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the snapshot from FILE, not stdin.")
    ] = None,
) -> None:
    """Classify a subscriber snapshot (JSON on stdin): lifecycle stage, risk, value tier, caps."""
    from assistant.cli import emit_json, fail
    from knowledge.errors import RetentionError
    from tools.policy import load_policy
    from tools.rules import segment

    snapshot = parse_snapshot(_read_input(file))
    try:
        result = segment(snapshot, load_policy(policy))
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(result)
    else:
        _print_summary(result)


def _read_input(file: Path | None) -> str:
    from assistant.cli import fail

    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read snapshot file {file}: {exc}")
    if sys.stdin is None or sys.stdin.isatty():
        fail("no snapshot given: pipe the subscriber JSON on stdin or pass --file FILE")
    return sys.stdin.read()


def parse_snapshot(text: str) -> SubscriberSnapshot:
    """Parse and validate a snapshot; a bad one exits 1 with the offending fields named."""
    from pydantic import ValidationError

    from assistant.cli import fail
    from tools.schemas import SubscriberSnapshot

    if not text.strip():
        fail("no snapshot given: the input is empty; expected a JSON object of subscriber fields")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"snapshot is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(data, dict):
        fail(f"snapshot must be a JSON object of subscriber fields, not a {type(data).__name__}")
    try:
        return SubscriberSnapshot.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(snapshot)"
            message = {"missing": "required field is missing",
                       "extra_forbidden": "unknown field"}.get(error["type"], error["msg"])
            problems.append(f"{field}: {message}")
        fail("invalid snapshot: " + "; ".join(problems))


def _print_summary(result: Segmentation) -> None:
    from rich.console import Console
    from rich.table import Table

    from tools.rules import RISK_LABELS

    risk_zh, risk_en = RISK_LABELS[result.risk_label]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    stage, tier, caps = result.lifecycle_stage, result.value_tier, result.cost_caps
    table.add_row("生命周期 Lifecycle", f"{stage.zh} {stage.en}")
    table.add_row("风险 Risk", f"{risk_zh} {risk_en}" + ("  (passive churner)" * result.passive_churn))
    table.add_row("价值 Value tier", f"{tier.zh} {tier.en}")
    table.add_row("成本上限 Caps", f"monthly {caps.monthly:.2f}, total {caps.total:.2f} yuan")
    table.add_row("", caps.rule)
    if result.rule_score is not None:
        table.add_row("规则评分 Rule score", f"{result.rule_score.probability:.2f}")
    table.add_row("信号 Signals", ", ".join(result.signals) or "none")
    console = Console(highlight=False)
    console.print(table)
    console.print("[bold]理由 Reasons[/bold]")
    for reason in result.reasons:
        console.print(f"  • [{reason.code}] {reason.zh}\n    {reason.en}", markup=False)
