"""`retention ingest` and `retention search` (the playbook knowledge base), and `retention run`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from assistant.cli import emit_json, fail


def _services():  # type: ignore[no-untyped-def]
    from assistant.services import get_services

    return get_services()


def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders; default: the configured playbook folders."),
    prune: bool = typer.Option(False, "--prune", help="Drop indexed files that are no longer present."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON document."),
) -> None:
    """Index playbooks (.md .txt .docx .pdf): unchanged files are skipped, changed ones replaced."""
    services = _services()
    targets = list(paths) if paths else list(services.settings.playbook_dirs)
    report = services.knowledge.ingest(targets, prune=prune)
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    from rich.console import Console

    console = Console(stderr=False)
    console.print(
        f"[bold]{report.files}[/] file(s) indexed, {report.chunks} chunk(s) written, "
        f"{report.unchanged} unchanged, {report.total_chunks} chunks in the index ({report.seconds:.1f} s)"
    )
    for item in report.skipped:
        console.print(f"  [yellow]skipped[/] {item.source}: {item.reason}")
    for item in report.errors:
        console.print(f"  [red]error[/] {item.source}: {item.reason}")
    for source in report.removed:
        console.print(f"  [cyan]removed[/] {source}")


def search(
    query: Optional[str] = typer.Argument(None, help="The question or keywords (zh or en)."),
    k: int = typer.Option(5, "--k", min=1, max=100, help="How many passages."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="JSONL file of {id, query} lines."),
    source: list[str] = typer.Option(None, "--source", help="Only passages from this file name."),
    topic: list[str] = typer.Option(None, "--topic", help="Only passages of this playbook topic."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one line per query with --batch)."),
) -> None:
    """Search the playbooks: hybrid (multilingual vectors + Chinese BM25) with citations."""
    kb = _services().knowledge
    if batch is not None:
        _search_batch(kb, batch, k, source, topic)
        return
    if not query or not query.strip():
        fail("give a QUERY, or --batch FILE.jsonl")
    passages = kb.search(query, k=k, sources=source or None, topics=topic or None)
    if as_json:
        emit_json([_public(p) for p in passages])
        return
    _print_passages(passages)


def _public(passage) -> dict:  # type: ignore[no-untyped-def]
    return {"id": passage.id, "text": passage.text, "source": passage.source,
            "section": passage.section, "score": passage.score}


def _search_batch(kb, path: Path, k: int, source, topic) -> None:  # type: ignore[no-untyped-def]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    queries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            queries.append((item["id"], str(item["query"])))
        except (json.JSONDecodeError, KeyError, TypeError):
            fail(f"{path}:{number}: each line must be a JSON object with 'id' and 'query'")
    kb.ensure_fresh()
    for qid, text in queries:
        passages = kb.search(text, k=k, sources=source or None, topics=topic or None)
        sys.stdout.write(json.dumps({"id": qid, "results": [_public(p) for p in passages]},
                                    ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _print_passages(passages) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.panel import Panel

    console = Console()
    if not passages:
        console.print("No passage found. Is the knowledge base ingested? Run: retention ingest")
        return
    for rank, p in enumerate(passages, 1):
        title = f"[{rank}] {p.source} · {p.section or '—'} · score {p.score:.4f} · id {p.id[:8]}"
        console.print(Panel(p.text, title=title, title_align="left"))


def run(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Bootstrap missing demo data (subscribers, churn model, playbooks, API keys), then serve the API."""
    from assistant.bootstrap import bootstrap
    from assistant.cli_serve import serve_app

    services = _services()
    bootstrap(services)
    typer.echo(f"Serving the chat page and API on http://{host}:{port} (docs at /docs); Ctrl-C stops it.", err=True)
    serve_app(host, port, services=services)


def register(app: typer.Typer) -> None:
    """Add the knowledge-base commands to `app`."""
    app.command("ingest")(ingest)
    app.command("search")(search)
    app.command("run")(run)
