"""Who is asking (API key -> Principal), what their role allows, and how often they may ask."""

from __future__ import annotations

import math
import threading
import time

from pydantic import BaseModel

from api.errors import APIError
from assistant.records import ROLES, Records, role_rank
from assistant.schemas import Role

# Roles that may read real subscriber records (trainees practise on snapshots only).
REAL_DATA_ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")


class Principal(BaseModel):
    """The caller: an API key's id (never the key) and its role."""

    key_id: str
    role: Role
    name: str = ""


class TokenBucket:
    """Per-key token buckets in memory: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token; 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def read_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The raw key from `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return x_api_key.strip() if x_api_key and x_api_key.strip() else None


def authenticate(raw: str | None, records: Records, limiter: TokenBucket, auth_required: bool) -> Principal:
    """The Principal for a raw key; 401 when missing or invalid, 429 past the key's rate limit."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if raw is None:
        if not auth_required:
            principal = Principal(key_id="anonymous", role="agent", name="anonymous")
        else:
            raise APIError(401, "missing_api_key", "send an API key as 'Authorization: Bearer KEY' "
                           "(create one with `retention keys create --role agent`)", headers=challenge)
    else:
        key = records.verify(raw)
        if key is None:
            raise APIError(401, "invalid_api_key", "the API key is unknown or revoked", headers=challenge)
        principal = Principal(key_id=key.id, role=key.role, name=key.name)
    wait = limiter.take(principal.key_id)
    if wait > 0:
        raise APIError(429, "rate_limited", f"too many requests for this key; retry in {math.ceil(wait)} s",
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return principal


def require_role(principal: Principal, allowed: tuple[str, ...], what: str) -> None:
    """403 unless the principal's role is one of `allowed`."""
    if principal.role not in allowed:
        raise APIError(403, "forbidden", f"the {principal.role} role may not {what}")


def effective_role(principal: Principal, requested: str | None) -> Role:
    """The role to answer as: the key's, or a lower one asked for (a higher one is 403)."""
    if requested is None:
        return principal.role
    if requested not in ROLES:
        raise APIError(422, "validation_error", f"role: must be one of {', '.join(ROLES)}", fields=["role"])
    if role_rank(requested) > role_rank(principal.role):
        raise APIError(403, "forbidden", f"a {principal.role} key cannot act as {requested}")
    return requested  # type: ignore[return-value]


def check_message(text: str, limit: int, field: str = "message") -> None:
    """422 naming the field when a message is empty or longer than the configured limit."""
    if not text.strip():
        raise APIError(422, "validation_error", f"{field}: must not be empty", fields=[field])
    if len(text) > limit:
        raise APIError(422, "message_too_long", f"{field}: at most {limit} characters ({len(text)} given)",
                       fields=[field])
