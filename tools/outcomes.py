"""The outcome log: every retention contact, written one record at a time (SQLite by default).

An agent logs who was contacted, by whom, in which scenario, with which measure codes and at what
cost, over which channel and with what result. Records live in the same SQLAlchemy database as the
conversations (`RETENTION_DATABASE_URL`, SQLite under the data dir by default) in their own table.
The money spent counts against the subscriber's retention budget (`tools.offer_history`), and the
records feed the supervisor reports (`tools.reports`). Free-text reasons are stored masked.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, insert, select

from tools.db import open_engine
from tools.errors import InvalidInput
from tools.schemas import DispatchRecord, Scenario
from tools.masking import mask_free_text
from tools.subscriber_schema import CONTACT_CHANNELS, CONTACT_RESULTS, OUTCOME_COLUMNS

Channel = Literal["outbound_call", "sms", "store", "app", "wechat", "home_visit", "email"]
Result = Literal["retained", "renewed", "declined", "no_answer", "callback"]
assert get_args(Channel) == CONTACT_CHANNELS and get_args(Result) == CONTACT_RESULTS

metadata = MetaData()
outcomes_table = Table(
    "retention_outcomes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outcome_id", String(40), nullable=False, unique=True),
    Column("subscriber_id", String(64), nullable=False, index=True),
    Column("agent_id", String(128), nullable=False, index=True),
    Column("agent_team", String(64)),
    Column("scenario", String(32), nullable=False),
    Column("measure_codes", String(256), nullable=False, default=""),
    Column("cost", Float, nullable=False, default=0.0),
    Column("channel", String(32), nullable=False),
    Column("result", String(32), nullable=False),
    Column("reason", Text),
    Column("dispatch_id", String(64)),
    Column("contact_time", String(32), nullable=False, index=True),
    Column("recorded_at", String(32), nullable=False),
)


class OutcomeCreate(BaseModel):
    """One retention contact as an agent reports it."""

    model_config = ConfigDict(extra="forbid")

    subscriber_id: str = Field(..., min_length=1, max_length=64, description="Subscriber id or mobile number.")
    agent_id: str = Field(..., min_length=1, max_length=128)
    agent_team: str | None = Field(None, max_length=64)
    scenario: Scenario
    measure_codes: list[str] = Field(default_factory=list, max_length=10,
                                     description="Measure codes of tools/data/measures.yaml, e.g. RM001.")
    cost: float = Field(0.0, description="Retention money spent on this contact (yuan).")
    channel: Channel
    result: Result
    reason: str | None = Field(None, max_length=1000, description="Free text; phone and ID numbers are masked.")
    dispatch_id: str | None = Field(None, max_length=64, description="The work order this contact answers.")
    contact_time: datetime | None = Field(None, description="When the contact happened (default: now).")

    @field_validator("measure_codes", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            return value
        from tools.catalogue import load_catalogue

        codes = [str(v).strip().upper() for v in value if str(v).strip()]
        known = load_catalogue().measures
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(f"unknown measure code(s) {', '.join(unknown)}; valid codes: {', '.join(sorted(known))}")
        return list(dict.fromkeys(codes))

    @field_validator("cost")
    @classmethod
    def _cost(cls, value: float) -> float:
        if value != value or value < 0:
            raise ValueError(f"cost must be a non-negative amount in yuan, got {value}")
        if value > 100_000:
            raise ValueError(f"cost {value} yuan is not a plausible retention cost for one contact")
        return round(value, 2)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        return mask_free_text(value.strip()) if value and value.strip() else None


class OutcomePublic(BaseModel):
    """A stored contact."""

    outcome_id: str
    subscriber_id: str
    agent_id: str
    agent_team: str | None = None
    scenario: str
    measure_codes: list[str]
    cost: float
    channel: str
    result: str
    reason: str | None = None
    dispatch_id: str | None = None
    contact_time: datetime
    recorded_at: datetime


def parse_outcome(data: dict[str, Any]) -> OutcomeCreate:
    """Validate a contact from the CLI or a file; errors name the field and the valid values."""
    try:
        return OutcomeCreate.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                 for e in exc.errors()]
        raise InvalidInput("invalid outcome: " + "; ".join(parts)) from None


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


class OutcomeLog:
    """Append and read retention contacts in an SQLAlchemy database."""

    def __init__(self, url: str):
        self.url = url
        self.engine = open_engine(url, metadata)

    def log(self, outcome: OutcomeCreate, subscriber_id: str | None = None) -> OutcomePublic:
        """Store one contact (`subscriber_id`: the canonical id when the caller resolved a phone number)."""
        now = datetime.now(timezone.utc)
        values = dict(
            outcome_id=f"O-{uuid.uuid4().hex[:16]}", subscriber_id=subscriber_id or outcome.subscriber_id,
            agent_id=outcome.agent_id, agent_team=outcome.agent_team, scenario=outcome.scenario,
            measure_codes=",".join(outcome.measure_codes), cost=outcome.cost, channel=outcome.channel,
            result=outcome.result, reason=outcome.reason, dispatch_id=outcome.dispatch_id,
            contact_time=_iso(outcome.contact_time or now), recorded_at=_iso(now),
        )
        with self.engine.begin() as db:
            db.execute(insert(outcomes_table).values(**values))
        return _public(values)

    def list(self, subscriber_id: str | None = None, agent_id: str | None = None, since: date | None = None,
             limit: int = 500) -> list[OutcomePublic]:
        """Contacts, newest first, filtered by subscriber, agent and first day (all optional)."""
        t = outcomes_table
        query = select(t).order_by(t.c.contact_time.desc(), t.c.id.desc()).limit(max(1, min(limit, 10_000)))
        if subscriber_id:
            query = query.where(t.c.subscriber_id == subscriber_id)
        if agent_id:
            query = query.where(t.c.agent_id == agent_id)
        if since:
            query = query.where(t.c.contact_time >= since.isoformat())
        with self.engine.connect() as db:
            return [_public(dict(r)) for r in db.execute(query).mappings()]

    def version(self) -> tuple[int, int]:
        """Changes whenever a contact is added (count and last row id)."""
        with self.engine.connect() as db:
            count, last = db.execute(select(func.count(), func.max(outcomes_table.c.id))).one()
        return int(count), int(last or 0)

    def frame(self) -> pd.DataFrame:
        """Every contact as a frame with the outcome table's columns (for reports)."""
        with self.engine.connect() as db:
            rows = [dict(r) for r in db.execute(select(outcomes_table)).mappings()]
        frame = pd.DataFrame(rows, columns=[c.name for c in outcomes_table.columns])
        frame["date"] = pd.to_datetime(frame["contact_time"], utc=True).dt.tz_localize(None)
        return frame[[c for c in OUTCOME_COLUMNS]]

    def records_for(self, subscriber_id: str) -> list[DispatchRecord]:
        """The subscriber's contacts as the offer engine's spend records (contact day, cost, codes)."""
        t = outcomes_table
        query = select(t.c.contact_time, t.c.scenario, t.c.measure_codes, t.c.cost, t.c.result).where(
            t.c.subscriber_id == subscriber_id)
        with self.engine.connect() as db:
            rows = db.execute(query).all()
        return [DispatchRecord(date=datetime.fromisoformat(when).date(), scenario=scenario, measure_codes=codes,
                               cost=cost or 0.0, result=result) for when, scenario, codes, cost, result in rows]


def _public(row: dict[str, Any]) -> OutcomePublic:
    codes = [c for c in (row.get("measure_codes") or "").split(",") if c]
    return OutcomePublic(**{k: v for k, v in row.items() if k in OutcomePublic.model_fields and k != "measure_codes"},
                         measure_codes=codes)


def record_outcome(log: OutcomeLog, store: Any, outcome: OutcomeCreate) -> OutcomePublic:
    """Log a contact for a stored subscriber (id or mobile number; unknown → SubscriberNotFound)."""
    subscriber_id = outcome.subscriber_id
    if store is not None and store.exists():
        subscriber_id = store.lookup(outcome.subscriber_id).subscriber_id
    return log.log(outcome, subscriber_id)


# --- which log belongs to a store (the offer engine finds it from the store alone) ---------------

_LOGS: dict[str, OutcomeLog] = {}
_LOGS_LOCK = threading.Lock()


def default_database_url(data_dir: Path) -> str:
    """The SQLite URL the settings use when RETENTION_DATABASE_URL is unset."""
    return f"sqlite:///{(Path(data_dir) / 'assistant.sqlite').resolve()}"


def register_outcome_log(store: Any, log: OutcomeLog) -> None:
    """Tie `log` to the store's data dir, so `outcome_log_for(store)` finds it."""
    with _LOGS_LOCK:
        _LOGS[str(Path(store.root).resolve())] = log


def outcome_log_for(store: Any) -> OutcomeLog | None:
    """The registered log of this store, else the default SQLite file beside it if one exists."""
    key = str(Path(store.root).resolve())
    with _LOGS_LOCK:
        if key in _LOGS:
            return _LOGS[key]
        path = Path(store.root).parent / "assistant.sqlite"
        if not path.is_file():
            return None
        found = OutcomeLog(default_database_url(path.parent))
        _LOGS[key] = found
        return found
