"""`retention ask` and `retention chat`: the assistant from the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from assistant.cli import emit_json, fail

ROLES = ("agent", "supervisor", "trainee", "admin")


def _assistant():  # type: ignore[no-untyped-def]
    from assistant.agent import Assistant
    from assistant.services import get_services

    services = get_services()
    services.ensure_knowledge()
    return Assistant(services)


def _snapshot(path: Optional[Path]):  # type: ignore[no-untyped-def]
    if path is None:
        return None
    from pydantic import ValidationError

    from tools.schemas import SubscriberSnapshot

    try:
        raw = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        return SubscriberSnapshot.model_validate(json.loads(raw))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"{path} is not JSON: {exc.msg} (line {exc.lineno})")
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "snapshot" for e in exc.errors())
        fail(f"invalid subscriber snapshot: {fields}")


def _check_role(role: str) -> None:
    if role not in ROLES:
        fail(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


def ask(
    question: str = typer.Argument(..., help="The question, in Chinese or English."),
    role: str = typer.Option("agent", "--role", help="agent | supervisor | trainee | admin"),
    subscriber: Optional[str] = typer.Option(None, "--subscriber", help="Subscriber id or phone in focus."),
    subscriber_json: Optional[Path] = typer.Option(None, "--subscriber-json", help="Inline snapshot JSON file."),
    conversation: Optional[str] = typer.Option(None, "--conversation", help="Continue this conversation."),
    as_json: bool = typer.Option(False, "--json", help="Print the reply as one JSON document."),
) -> None:
    """Ask the assistant one question (answers cite the playbook passages they rest on)."""
    _check_role(role)
    snapshot = _snapshot(subscriber_json)
    reply = _assistant().ask(question, role=role, conversation_id=conversation,  # type: ignore[arg-type]
                             subscriber_id=subscriber, subscriber=snapshot)
    if as_json:
        out = reply.model_dump(mode="json", include={"answer", "citations", "tool_calls",
                                                     "conversation_id", "engine"})
        emit_json(out)
        return
    _render(reply)


def _render(reply) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.markdown import Markdown

    from rich.markup import escape

    console = Console()
    console.print(Markdown(reply.answer))
    unlisted = [c for c in reply.citations if f"[{c.id.replace('-', '')[:8]}] {c.source}" not in reply.answer]
    if unlisted:  # the answer lists its sources itself; show only what it does not
        console.print("[dim]Sources:[/]")
        for c in unlisted:
            console.print(escape(f"  [{c.id.replace('-', '')[:8]}] {c.source} · {c.section}"), style="dim")
    failed = [t for t in reply.tool_calls if not t.ok]
    for call in failed:
        console.print(f"[yellow]tool {call.name} failed: {call.error}[/]")
    console.print(f"[dim]engine: {reply.engine} · conversation: {reply.conversation_id}[/]")


def chat(
    role: str = typer.Option("agent", "--role", help="agent | supervisor | trainee | admin"),
    conversation: Optional[str] = typer.Option(None, "--conversation", help="Continue this conversation."),
) -> None:
    """A terminal chat with the assistant; an empty line or Ctrl-D ends it."""
    _check_role(role)
    assistant = _assistant()
    typer.echo(f"Retention Assistant ({role}). Ask in Chinese or English; empty line to quit.", err=True)
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            break
        if not question.strip():
            break
        from knowledge.errors import RetentionError

        try:
            reply = assistant.ask(question, role=role, conversation_id=conversation)  # type: ignore[arg-type]
        except RetentionError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        conversation = reply.conversation_id
        _render(reply)


def register(app: typer.Typer) -> None:
    """Add `ask` and `chat` to `app`."""
    app.command("ask")(ask)
    app.command("chat")(chat)
