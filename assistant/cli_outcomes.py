"""`retention outcomes log | list`: record retention contacts and read them back."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: RETENTION_DATA_DIR / settings).")
]


def register(app: typer.Typer) -> None:
    """Add the `outcomes` command group to `app`."""
    group = typer.Typer(help="Outcome log: record retention contacts and list them.", no_args_is_help=True)
    group.command("log")(log_command)
    group.command("list")(list_command)
    app.add_typer(group, name="outcomes")


def _services(data_dir: Path | None) -> Any:
    from assistant.config import get_settings
    from assistant.services import Services, get_services

    if data_dir is None:
        return get_services()
    return Services(get_settings().model_copy(update={"data_dir": data_dir}))


def log_command(
    subscriber: Annotated[str, typer.Option("--subscriber", "-s", help="Subscriber id or mobile number.")],
    agent: Annotated[str, typer.Option("--agent", help="Agent id of who made the contact.")],
    scenario: Annotated[str, typer.Option("--scenario", help="renewal, routine, campus, silent, port_out, ...")],
    channel: Annotated[str, typer.Option("--channel", help="outbound_call, sms, store, app, wechat, home_visit, email.")],
    result: Annotated[str, typer.Option("--result", help="retained, renewed, declined, no_answer or callback.")],
    measure: Annotated[list[str] | None, typer.Option("--measure", "-m", help="Measure code (repeat or comma-separate).")] = None,
    cost: Annotated[float, typer.Option("--cost", help="Retention money spent (yuan).")] = 0.0,
    reason: Annotated[str | None, typer.Option("--reason", help="Free text; phone and ID numbers are masked.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="The agent's team.")] = None,
    dispatch: Annotated[str | None, typer.Option("--dispatch", help="The work order this contact answers.")] = None,
    when: Annotated[str | None, typer.Option("--time", help="Contact time, ISO 8601 (default: now).")] = None,
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record one retention contact; the money spent counts against the subscriber's retention budget."""
    from assistant.cli import emit_json, fail
    from knowledge.errors import RetentionError
    from tools.outcomes import parse_outcome, record_outcome

    codes = [c for m in measure or [] for c in m.split(",") if c.strip()]
    data: dict[str, Any] = dict(subscriber_id=subscriber, agent_id=agent, agent_team=team, scenario=scenario,
                                measure_codes=codes, cost=cost, channel=channel, result=result, reason=reason,
                                dispatch_id=dispatch)
    if when is not None:
        try:
            data["contact_time"] = datetime.fromisoformat(when)
        except ValueError:
            fail(f"--time: {when!r} is not an ISO 8601 date or time, e.g. 2026-07-03T14:30")
    try:
        services = _services(data_dir)
        record = record_outcome(services.outcome_log, services.store, parse_outcome(data))
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(record)
        return
    money = f", {record.cost:.2f} yuan" if record.cost else ""
    typer.echo(f"logged {record.outcome_id}: {record.subscriber_id} {record.result} via {record.channel} "
               f"({record.scenario}{money}) by {record.agent_id}")


def list_command(
    subscriber: Annotated[str | None, typer.Option("--subscriber", "-s", help="Only this subscriber.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's contacts.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this day on (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most N contacts.")] = 100,
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """List logged contacts, newest first."""
    from assistant.cli import emit_json, fail
    from knowledge.errors import RetentionError

    first = None
    if since is not None:
        try:
            first = date.fromisoformat(since)
        except ValueError:
            fail(f"--since: {since!r} is not a date like 2026-07-01")
    try:
        services = _services(data_dir)
        sid = subscriber
        if subscriber is not None and services.store.exists():
            sid = services.store.lookup(subscriber).subscriber_id
        records = services.outcome_log.list(sid, agent, first, limit)
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json([r.model_dump(mode="json") for r in records])
        return
    if not records:
        typer.echo("no contacts logged")
    for r in records:
        codes = ",".join(r.measure_codes) or "-"
        typer.echo(f"{r.contact_time:%Y-%m-%d %H:%M}  {r.subscriber_id}  {r.result:9s} {r.channel:13s} "
                   f"{r.scenario:10s} {codes:12s} {r.cost:8.2f}  {r.agent_id}")
