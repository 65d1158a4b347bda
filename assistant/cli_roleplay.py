"""`retention train roleplay` and `retention train sessions`: practise a call, see the graded rubric.

`register_train(train)` adds both commands to an existing `train` command group. Interactive by
default (one trainee line per prompt; an empty line, `/end` or `结束` finishes the call); `--script
FILE` reads the trainee's lines from a file (one per line, `#` comments, `-` = stdin) and prints
the transcript and the grade. The customer is synthetic; sessions are saved for the supervisor.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

END_WORDS = {"", "/end", "/quit", "结束", "结束练习"}


def register_train(train: typer.Typer) -> None:
    """Add `roleplay` and `sessions` to the `train` command group."""
    train.command("roleplay")(roleplay_command)
    train.command("sessions")(sessions_command)


def _practice() -> Any:
    from assistant.roleplay_llm import practice_for
    from assistant.services import get_services

    return practice_for(get_services())


def _script_lines(path: str) -> list[str]:
    from assistant.cli import fail

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read --script {path}: {exc}")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        fail(f"--script {path} has no trainee lines")
    return lines


def _card_text(card: dict[str, Any], zh: bool) -> str:
    caps = card["cost_caps"]
    if zh:
        return (f"练习场景：{card['scenario_name']}｜客户：{card['name']}（{card['number']}）｜在网{card['tenure_months']}个月，"
                f"月均{card['arpu']}元｜{card['value_tier']}、{card['lifecycle_stage']}｜"
                f"成本上限：每月{caps['monthly']:g}元，总计{caps['total']:g}元")
    return (f"Practice: {card['scenario_name']} | customer: {card['name']} ({card['number']}) | "
            f"{card['tenure_months']} months, about {card['arpu']} yuan a month | {card['value_tier']}, "
            f"{card['lifecycle_stage']} | caps: {caps['monthly']:g} a month, {caps['total']:g} in total")


def grade_text(record: Any) -> str:
    """The graded rubric as plain text (score, status, evidence, citation per criterion; the plan)."""
    grade, zh = record.grade, record.lang == "zh"
    out = [f"{'总分' if zh else 'Total'}: {grade.total:g}/100"
           + (f"  ({'结果' if zh else 'outcome'}: {record.outcome})" if record.outcome else "")]
    for c in grade.criteria:
        score = "n/a" if c.status == "not_applicable" else f"{c.score:g}/{c.weight}"
        flags = f" [{', '.join(c.flags)}]" if c.flags else ""
        out.append(f"- {c.title}: {score} {c.status}{flags}" + (f" — {c.note}" if c.note else ""))
        for e in c.evidence[:2]:
            out.append(f"    「{e.text}」" if zh else f'    "{e.text}"')
        for cite in c.citations[:1]:
            out.append(f"    [{cite.id.replace('-', '')[:8]}] {cite.source} · {cite.section}")
    if grade.plan:
        out.append("改进建议：" if zh else "How to improve:")
        out += [f"{i}. {tip}" for i, tip in enumerate(grade.plan, 1)]
    return "\n".join(out)


def roleplay_command(
    scenario: Annotated[str | None, typer.Option("--scenario", help="renewal | routine | campus | silent | "
                                                 "port_out | complaint_recovery | new_customer; default: by seed.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Same seed, same synthetic customer.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    script: Annotated[str | None, typer.Option("--script", help="File of trainee lines ('-' = stdin).")] = None,
) -> None:
    """Practise a retention call against a simulated customer, then see the graded rubric."""
    from assistant.cli import emit_json, fail
    from knowledge.errors import RetentionError
    from tools.training.roleplay import SCENARIOS

    if scenario is not None and scenario not in SCENARIOS:
        fail(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    if lang not in ("zh", "en"):
        fail(f"unknown language {lang!r}; expected zh or en")
    lines = _script_lines(script) if script is not None else None
    zh = lang == "zh"
    try:
        practice = _practice()
        started = practice.start(owner="local", role="trainee", scenario=scenario, seed=seed, lang=lang)
        echo = (lambda text: typer.echo(text, err=True)) if json_output else typer.echo
        if lines is None or not json_output:
            echo(_card_text(started.card, zh))
            echo(f"{'客户' if zh else 'Customer'}: {started.customer}")
        for text in lines if lines is not None else _prompted(zh):
            if lines is not None and not json_output:
                typer.echo(f"{'你' if zh else 'You'}: {text}")
            turn = practice.turn(started.session_id, "local", text)
            echo(f"{'客户' if zh else 'Customer'}: {turn.customer}")
            if turn.finished:
                break
        record = practice.finish(started.session_id, "local")
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(record.model_dump(mode="json"))
        return
    typer.echo("")
    typer.echo(grade_text(record))


def _prompted(zh: bool):  # type: ignore[no-untyped-def]
    """Trainee lines typed at the terminal until an end word or end of input."""
    while True:
        try:
            text = typer.prompt("你" if zh else "You", default="", show_default=False, err=True)
        except (EOFError, typer.Abort):
            return
        if text.strip() in END_WORDS:
            return
        yield text


def sessions_command(
    trainee: Annotated[str | None, typer.Option("--trainee", help="Only this trainee's API key id.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most recent sessions shown.")] = 50,
) -> None:
    """Role-play sessions, newest first (the supervisor's view): who, scenario, outcome, score."""
    from assistant.cli import emit_json
    from assistant.config import get_settings
    from assistant.roleplay_llm import roleplay_store

    sessions = roleplay_store(get_settings()).list(owner=trainee, limit=limit)
    if json_output:
        emit_json([s.model_dump(mode="json") for s in sessions])
        return
    if not sessions:
        typer.echo("No role-play sessions yet. Start one: retention train roleplay --scenario renewal")
        return
    for s in sessions:
        score = f"{s.total:g}" if s.total is not None else "-"
        typer.echo(f"{s.id[:12]}  {s.owner:<12}  {s.scenario:<18} {s.lang}  {s.status:<8}  "
                   f"{s.outcome or '-':<9}  score {score:<5}  turns {s.turns}  {s.updated_at}")
