"""`GET /v1/me`: who the key belongs to and what its role may do (the web page reads its role here)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import PrincipalDep
from api.routes.chat import ERRORS
from assistant.roles import ROLE_TOOLS

router = APIRouter(prefix="/v1", tags=["access"])


class MeOut(BaseModel):
    """The caller's key id (never the key), its role and the assistant tools that role may use."""

    key_id: str
    role: str
    name: str = ""
    tools: list[str]


@router.get("/me", response_model=MeOut, responses={k: v for k, v in ERRORS.items() if k in (401, 429)},
            summary="The calling key's role")
async def me(principal: PrincipalDep) -> MeOut:
    """The key id, role and name of the calling key, and the tools its role may call."""
    return MeOut(key_id=principal.key_id, role=principal.role, name=principal.name,
                 tools=sorted(ROLE_TOOLS.get(principal.role, set())))
