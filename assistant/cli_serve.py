"""`retention serve`: the HTTP API (and the chat page) on a host and port, loopback by default."""

from __future__ import annotations

from typing import Any

import typer


def serve_app(host: str = "127.0.0.1", port: int = 8000, services: Any = None) -> None:
    """Run the API with uvicorn until interrupted (reusing `services` when given)."""
    import uvicorn

    from api.app import create_app
    from assistant.config import get_settings

    settings = services.settings if services is not None else get_settings()
    app = create_app(settings, services=services)
    # uvicorn's access log would show raw paths (which may hold phone numbers): the API logs its own.
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the chat API, the OpenAI-compatible endpoint and the chat page."""
    typer.echo(f"Retention Assistant API on http://{host}:{port} (docs at /docs); Ctrl-C stops it.", err=True)
    serve_app(host, port)


def register(app: typer.Typer) -> None:
    """Add `serve` to `app`."""
    app.command("serve")(serve)
