"""`retention serve`: the HTTP API (and the chat page) on a host and port, loopback by default."""

from __future__ import annotations

import os
from typing import Any

import typer


def serve_app(host: str = "127.0.0.1", port: int = 8000, services: Any = None, workers: int | None = None) -> None:
    """Run the API with uvicorn until interrupted (reusing `services` when given).

    With several workers, each process builds its own Services from the same settings (the
    RETENTION_* environment); the knowledge base is made ready here first, so workers never ingest.
    """
    import uvicorn

    from api.app import create_app
    from assistant.config import get_settings

    settings = services.settings if services is not None else get_settings()
    workers = workers or settings.api_workers
    # uvicorn's access log would show raw paths (which may hold phone numbers): the API logs its own.
    options = dict(host=host, port=port, log_level=settings.log_level.lower(), access_log=False)
    if workers > 1:
        from assistant.services import Services

        (services or Services(settings)).ensure_knowledge()
        os.environ["RETENTION_API_WORKERS"] = str(workers)  # each worker sizes its engine gate by it
        uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)
        return
    uvicorn.run(create_app(settings, services=services), **options)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(0, "--workers", min=0, max=32,
                                help="Server processes (default RETENTION_API_WORKERS, 1)."),
) -> None:
    """Serve the chat API, the OpenAI-compatible endpoint and the chat page."""
    typer.echo(f"Retention Assistant API on http://{host}:{port} (docs at /docs); Ctrl-C stops it.", err=True)
    serve_app(host, port, workers=workers or None)


def register(app: typer.Typer) -> None:
    """Add `serve` to `app`."""
    app.command("serve")(serve)
