"""create_app(): the FastAPI app. Its lifespan builds the Services once and warms what is slow."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.observability import RequestMiddleware, TimedServices
from api.security import TokenBucket
from assistant.config import Settings, get_settings

log = logging.getLogger("retention.api")
STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
The retention assistant over HTTP. Every `/v1` route needs an API key
(`Authorization: Bearer KEY`, created with `retention keys create --role agent`).
Errors are always `{"error": {"code", "message"}}`. Responses carry `X-Request-ID` and
`Server-Timing` (retrieval, tools, llm, engine, total).
"""

TAGS = [
    {"name": "chat", "description": "Ask the assistant; SSE streaming with `Accept: text/event-stream`."},
    {"name": "openai", "description": "OpenAI chat-completions compatible endpoint."},
    {"name": "conversations", "description": "Your own conversations."},
    {"name": "subscribers", "description": "Subscriber facts, churn risk, offers and call scripts (not trainees)."},
    {"name": "knowledge", "description": "Playbook search; upload and ingest (admin)."},
    {"name": "feedback", "description": "Thumbs up/down on answers."},
    {"name": "reports", "description": "Supervisor reports: KPIs by dimension, charts, CSV/XLSX (supervisor, admin)."},
    {"name": "outcomes", "description": "The retention contact log (who was offered what, and the result)."},
    {"name": "training", "description": "Trainee mode: lessons, quizzes, role-play practice and graded sessions."},
    {"name": "access", "description": "The calling key and its role."},
    {"name": "health", "description": "Liveness and readiness."},
]


class NoCacheStaticFiles(StaticFiles):
    """Static files that browsers revalidate on every load (the page changes with the app)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Any:
        """The file, with `Cache-Control: no-cache`."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def _open(app: FastAPI, services: Any) -> None:
    """Open the stores and warm the knowledge base (runs in a worker thread at startup)."""
    from assistant.records import open_records
    from knowledge.errors import RetentionError

    app.state.records = open_records(services)
    try:
        services.ensure_knowledge()
        services.warm_knowledge()
        app.state.knowledge_error = None
    except RetentionError as exc:  # readyz reports it (503); the rest of the API keeps working
        app.state.knowledge_error = str(exc)
        log.error("knowledge base unavailable: %s", exc)
    import threading

    threading.Thread(target=_warm_store, args=(services,), name="warm-store", daemon=True).start()


def _warm_store(services: Any) -> None:
    """Load the churn model and the base's cached averages in the background (readiness does not wait)."""
    from knowledge.errors import RetentionError
    from tools.model_files import load_model

    try:
        if services.store.exists():
            services.store.network_averages()
            load_model(services.model_dir)
    except RetentionError as exc:
        log.warning("subscriber data unavailable: %s", exc)


def create_app(
    settings: Settings | None = None,
    *,
    services: Any = None,
    assistant_factory: Callable[[Any], Any] | None = None,
) -> FastAPI:
    """The API app for `settings` (default: RETENTION_* env); tests may pass prebuilt `services`."""
    if settings is None:
        settings = services.settings if services is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio

        from assistant.agent import Assistant
        from assistant.services import Services

        built = services if services is not None else Services(settings)
        app.state.services = built
        await anyio.to_thread.run_sync(_open, app, built)
        timed = TimedServices(built)
        app.state.assistant = assistant_factory(timed) if assistant_factory else Assistant(timed)
        yield

    app = FastAPI(title="Retention Assistant API", version="0.1.0", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan)
    app.state.settings = settings
    app.state.limiter = TokenBucket(settings.api_rate_limit_per_minute)
    app.state.knowledge_error = None
    install_error_handlers(app)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.api_max_body_bytes,
                       max_upload_bytes=int(settings.api_upload_max_mb * 1_000_000))
    if settings.cors_origins:  # added last: outermost, so error responses carry CORS headers too
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID", "X-Conversation-ID"],
            expose_headers=["X-Request-ID", "Server-Timing", "Retry-After"],
        )
    from api.routes import (
        chat, conversations, feedback, health, knowledge, lessons, me, openai_compat, outcomes, reports, subscribers,
        training,
    )

    for module in (health, me, chat, openai_compat, conversations, subscribers, knowledge, feedback, reports,
                   outcomes, lessons, training):
        app.include_router(module.router)
    if STATIC_DIR.is_dir():
        app.mount("/", NoCacheStaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
