"""API keys, feedback and the audit log: records written one at a time, in the conversations database.

Keys are shown once and stored hashed: a key reads `rk_<id>_<secret>`; the database keeps the id,
a random per-key salt and sha256(salt + secret), so the raw key never touches the disk. The id in
the key makes verification one primary-key lookup and a constant-time compare.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timezone
from typing import Any, Iterable

from pydantic import BaseModel
from sqlalchemy import (
    Column, Integer, MetaData, String, Table, Text, func, insert, select, update,
)
from sqlalchemy.engine import Engine

from assistant.privacy import mask_text
from assistant.schemas import Role
from knowledge.errors import RetentionError
from tools.errors import InvalidInput

ROLES: tuple[str, ...] = ("trainee", "agent", "supervisor", "admin")  # lowest to highest
KEY_PREFIX = "rk_"

metadata = MetaData()
api_keys = Table(
    "api_keys", metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(128), nullable=False, default=""),
    Column("role", String(32), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
)
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", String(16), nullable=False, index=True),
    Column("conversation_id", String(64), nullable=False, index=True),
    Column("message_index", Integer),
    Column("answer_id", String(64)),
    Column("rating", String(8), nullable=False),
    Column("comment", Text),
    Column("created_at", String(32), nullable=False),
)
audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False, index=True),
    Column("key_id", String(16), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subscriber_ids", Text, nullable=False, default="[]"),  # JSON list, masked
    Column("measure_codes", Text, nullable=False, default="[]"),  # JSON list
    Column("costs", Text, nullable=False, default="[]"),  # JSON list of {measure_code, monthly, one_off, total}
    Column("detail", Text),  # masked free text
    Column("request_id", String(64)),
)


class ApiKey(BaseModel):
    """A stored API key (never the key itself)."""

    id: str
    name: str
    role: Role
    created_at: str
    revoked_at: str | None = None


class NewKey(BaseModel):
    """A freshly created key: the only time the raw key is available."""

    key: str
    role: Role
    id: str
    name: str = ""


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def role_rank(role: str) -> int:
    """Position of a role from trainee (0) to admin (3); -1 for an unknown role."""
    return ROLES.index(role) if role in ROLES else -1


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def mask_ids(values: Iterable[Any]) -> list[str]:
    """Subscriber keys for the audit log and logs: phone and ID-card numbers masked."""
    from tools.masking import mask_identifier

    return [mask_text(mask_identifier(str(v))) for v in values if v not in (None, "")]


class Records:
    """Keys, feedback and audit rows in one SQLAlchemy database (the conversations one)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        metadata.create_all(engine)

    # --- keys ------------------------------------------------------------------------------
    def create_key(self, role: str, name: str = "") -> NewKey:
        """Create a key for `role`; the returned raw key is not stored anywhere."""
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_hex(16)
        with self.engine.begin() as db:
            db.execute(insert(api_keys).values(
                id=key_id, name=name[:128], role=role, salt=salt, key_hash=_digest(salt, secret),
                created_at=now(),
            ))
        return NewKey(key=f"{KEY_PREFIX}{key_id}_{secret}", role=role, id=key_id, name=name)  # type: ignore[arg-type]

    def verify(self, raw: str) -> ApiKey | None:
        """The active key matching `raw`, or None (unknown, malformed, wrong secret or revoked)."""
        if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
            return None
        key_id, _, secret = raw[len(KEY_PREFIX):].partition("_")
        with self.engine.connect() as db:
            row = db.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(_digest(row["salt"], secret), row["key_hash"]):
            return None
        return ApiKey(**{k: row[k] for k in ApiKey.model_fields})

    def list_keys(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones included, marked)."""
        with self.engine.connect() as db:
            rows = db.execute(select(api_keys).order_by(api_keys.c.created_at)).mappings()
            return [ApiKey(**{k: r[k] for k in ApiKey.model_fields}) for r in rows]

    def count_active_keys(self) -> int:
        """How many keys are not revoked."""
        with self.engine.connect() as db:
            return int(db.execute(select(func.count()).select_from(api_keys)
                                  .where(api_keys.c.revoked_at.is_(None))).scalar() or 0)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (RetentionError when there is no such key)."""
        with self.engine.begin() as db:
            done = db.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                              .values(revoked_at=now())).rowcount
        found = [k for k in self.list_keys() if k.id == key_id]
        if not found:
            raise RetentionError(f"no API key with id {key_id!r}; see `retention keys list`")
        if not done and found[0].revoked_at is None:  # pragma: no cover - concurrent revoke
            raise RetentionError(f"could not revoke key {key_id!r}")
        return found[0]

    # --- feedback --------------------------------------------------------------------------
    def add_feedback(self, key_id: str, conversation_id: str, rating: str, *, message_index: int | None = None,
                     answer_id: str | None = None, comment: str | None = None) -> dict[str, Any]:
        """Store a thumbs up/down (comment masked) and return the stored row."""
        values = dict(key_id=key_id, conversation_id=conversation_id, message_index=message_index,
                      answer_id=answer_id, rating=rating, comment=mask_text(comment) if comment else None,
                      created_at=now())
        with self.engine.begin() as db:
            new_id = db.execute(insert(feedback).values(**values)).inserted_primary_key[0]
        return {"id": int(new_id), **values}

    # --- audit -----------------------------------------------------------------------------
    def audit(self, key_id: str, role: str, action: str, *, subscriber_ids: Iterable[Any] = (),
              offers: Iterable[dict[str, Any]] = (), detail: str | None = None,
              request_id: str | None = None) -> None:
        """Record who looked up or was offered what; phone and ID numbers are masked first."""
        offers = list(offers)
        codes = [str(o.get("measure_code")) for o in offers if o.get("measure_code")]
        costs = [{"measure_code": o.get("measure_code"), "monthly": o.get("monthly_cost"),
                  "one_off": o.get("one_off_cost"), "total": o.get("total_cost")} for o in offers]
        with self.engine.begin() as db:
            db.execute(insert(audit).values(
                ts=now(), key_id=key_id, role=role, action=action,
                subscriber_ids=json.dumps(sorted(set(mask_ids(subscriber_ids))), ensure_ascii=False),
                measure_codes=json.dumps(codes), costs=json.dumps(costs, default=str),
                detail=mask_text(detail) if detail else None, request_id=request_id,
            ))

    def audit_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit rows, JSON columns decoded."""
        with self.engine.connect() as db:
            rows = db.execute(select(audit).order_by(audit.c.id.desc()).limit(limit)).mappings()
            out = []
            for r in rows:
                row = dict(r)
                for name in ("subscriber_ids", "measure_codes", "costs"):
                    row[name] = json.loads(row[name] or "[]")
                out.append(row)
            return out


def open_records(services: Any) -> Records:
    """The Records of a Services, sharing the conversations database (cached on the Services)."""
    found = services.__dict__.get("_records")
    if found is None:
        found = Records(services.conversations.engine)
        services.__dict__["_records"] = found
    return found
