"""`GET /healthz` (the process answers) and `GET /readyz` (stores opened, model loaded, data present)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.schemas import CheckOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Liveness: always ok while the process serves requests."""
    return {"status": "ok"}


def _checks(request: Request) -> dict[str, CheckOut]:
    """Each store and model: opened, loaded, present."""
    state = request.app.state
    services: Any = getattr(state, "services", None)
    checks: dict[str, CheckOut] = {}
    if services is None:
        return {"services": CheckOut(ok=False, detail="not started")}
    try:
        from sqlalchemy import text

        with services.conversations.engine.connect() as db:
            db.execute(text("SELECT 1"))
        checks["database"] = CheckOut(ok=True, detail=services.conversations.engine.url.get_backend_name())
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not raise
        checks["database"] = CheckOut(ok=False, detail=type(exc).__name__)
    if state.knowledge_error:
        checks["knowledge"] = CheckOut(ok=False, detail=state.knowledge_error)
    else:
        try:
            chunks = services.knowledge.manifest.chunk_count()
            checks["knowledge"] = CheckOut(ok=chunks > 0, detail=f"{chunks} passages")
        except Exception as exc:  # noqa: BLE001
            checks["knowledge"] = CheckOut(ok=False, detail=str(exc))
    embedder = services.knowledge.embedder
    loaded = getattr(embedder, "_model", None) is not None
    checks["embedding_model"] = CheckOut(ok=loaded, detail=f"{embedder.name} {'loaded' if loaded else 'not loaded'}")
    present = services.store.exists()
    checks["subscribers"] = CheckOut(ok=present, detail="present" if present else
                                     "absent: run `retention data generate` (answers work without it)")
    model = (services.model_dir / "metadata.json").is_file()
    checks["churn_model"] = CheckOut(ok=model, detail="trained" if model else "absent: the rule score is used")
    return checks


@router.get("/readyz", response_model=ReadyOut, summary="Stores opened and models loaded",
            responses={503: {"model": ReadyOut, "description": "The knowledge base or database is unavailable."}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: 503 when the database or the knowledge base cannot be used; each check reported."""
    checks = _checks(request)
    essential = all(checks[name].ok for name in ("database", "knowledge", "embedding_model") if name in checks)
    ready = essential and "services" not in checks
    body = ReadyOut(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
