"""Dependencies of the routes: settings, services, the assistant, records and the caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from api.observability import current
from api.security import Principal, authenticate, read_key
from assistant.agent import Assistant
from assistant.config import Settings
from assistant.records import Records


def get_settings_dep(request: Request) -> Settings:
    """The app's Settings."""
    return request.app.state.settings


def get_services_dep(request: Request) -> Any:
    """The app's Services (built once by the lifespan)."""
    return request.app.state.services


def get_assistant_dep(request: Request) -> Assistant:
    """The app's Assistant."""
    return request.app.state.assistant


def get_records_dep(request: Request) -> Records:
    """Keys, feedback and audit records."""
    return request.app.state.records


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer API key.")] = None,
    x_api_key: Annotated[str | None, Header(description="The API key (alternative to Authorization).")] = None,
) -> Principal:
    """The caller, from their API key (401 without a valid one, 429 past the rate limit)."""
    state = request.app.state
    principal = authenticate(read_key(authorization, x_api_key), state.records, state.limiter,
                             state.settings.auth_required)
    ctx = current()
    if ctx is not None:
        ctx.key_id, ctx.role = principal.key_id, principal.role
    return principal


def request_id() -> str | None:
    """The id of the request being served."""
    ctx = current()
    return ctx.request_id if ctx else None


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ServicesDep = Annotated[Any, Depends(get_services_dep)]
AssistantDep = Annotated[Assistant, Depends(get_assistant_dep)]
RecordsDep = Annotated[Records, Depends(get_records_dep)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
