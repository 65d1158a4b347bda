"""Role-play sessions, their transcripts and grades, kept for the trainee's supervisor.

One row per session in the records database (SQLite by default, any SQLAlchemy URL at scale):
who practised, which scenario and seed, the synthetic persona, the call state, the transcript and,
once finished, the grade. `RoleplayStore.list(owner=None)` is the supervisor's view of everyone;
`frame()` and `version()` feed the supervisor reports (tools/reports: training score, practice sessions).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, insert, select, update

from tools.db import open_engine, utc_now
from tools.training.grading import RoleplayGrade, TranscriptTurn
from tools.training.roleplay import Persona, RoleplayState

metadata = MetaData()
roleplay_sessions = Table(
    "roleplay_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(128), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("scenario", String(32), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("engine", String(16), nullable=False, default="scripted"),
    Column("status", String(16), nullable=False, default="open"),  # open | finished
    Column("outcome", String(16)),
    Column("total", Float),
    Column("turns", Integer, nullable=False, default=0),
    Column("conversation_id", String(64), index=True),
    Column("persona", Text, nullable=False),  # JSON Persona
    Column("state", Text, nullable=False),  # JSON RoleplayState
    Column("transcript", Text, nullable=False, default="[]"),  # JSON list of TranscriptTurn
    Column("grade", Text),  # JSON RoleplayGrade
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
# The graded sessions as reports read them: `finished_at` is when the grade was saved (naive UTC).
FRAME_COLUMNS = ("session_id", "trainee", "scenario", "lang", "total", "finished_at", "flags")


class RoleplaySummary(BaseModel):
    """A session as the supervisor's list shows it."""

    id: str
    owner: str
    role: str
    scenario: str
    seed: int
    lang: Literal["zh", "en"]
    engine: str
    status: Literal["open", "finished"]
    outcome: str | None = None
    total: float | None = None
    turns: int = 0
    created_at: str
    updated_at: str


class RoleplayRecord(RoleplaySummary):
    """A whole session: persona, call state, transcript and grade."""

    conversation_id: str | None = None
    persona: Persona
    state: RoleplayState
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    grade: RoleplayGrade | None = None


def _now() -> str:
    return utc_now()


def _dump(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps([v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value], ensure_ascii=False)


class RoleplayStore:
    """Create, read, update and list role-play sessions."""

    def __init__(self, url: str):
        self.engine = open_engine(url, metadata)

    def create(self, *, owner: str, role: str, persona: Persona, state: RoleplayState,
               transcript: list[TranscriptTurn], engine: str = "scripted", conversation_id: str | None = None) -> str:
        """Store a new open session; returns its id."""
        sid, now = uuid.uuid4().hex, _now()
        with self.engine.begin() as db:
            db.execute(insert(roleplay_sessions).values(
                id=sid, owner=owner, role=role, scenario=persona.scenario, seed=persona.seed, lang=persona.lang,
                engine=engine, status="open", turns=0, conversation_id=conversation_id,
                persona=_dump(persona), state=_dump(state), transcript=_dump(transcript),
                created_at=now, updated_at=now))
        return sid

    def get(self, session_id: str) -> RoleplayRecord | None:
        """One session, or None."""
        with self.engine.connect() as db:
            row = db.execute(select(roleplay_sessions).where(roleplay_sessions.c.id == session_id)).mappings().first()
        if row is None:
            return None
        data = dict(row)
        data["persona"] = json.loads(data["persona"])
        data["state"] = json.loads(data["state"])
        data["transcript"] = json.loads(data["transcript"] or "[]")
        data["grade"] = json.loads(data["grade"]) if data["grade"] else None
        return RoleplayRecord(**data)

    def update(self, session_id: str, *, state: RoleplayState, transcript: list[TranscriptTurn],
               engine: str | None = None, grade: RoleplayGrade | None = None) -> None:
        """Save the call state and transcript (and the grade, which finishes the session)."""
        trainee_turns = sum(1 for t in transcript if t.speaker == "trainee")
        values: dict[str, Any] = {"state": _dump(state), "transcript": _dump(transcript), "turns": trainee_turns,
                                  "outcome": state.outcome, "updated_at": _now()}
        if engine:
            values["engine"] = engine
        if grade is not None:
            values.update(grade=_dump(grade), total=grade.total, status="finished")
        with self.engine.begin() as db:
            db.execute(update(roleplay_sessions).where(roleplay_sessions.c.id == session_id).values(**values))

    def list(self, owner: str | None = None, limit: int = 50, conversation_id: str | None = None) -> list[RoleplaySummary]:
        """Sessions newest first: one owner's, or everyone's when `owner` is None."""
        query = select(*[roleplay_sessions.c[name] for name in RoleplaySummary.model_fields])
        if owner is not None:
            query = query.where(roleplay_sessions.c.owner == owner)
        if conversation_id is not None:
            query = query.where(roleplay_sessions.c.conversation_id == conversation_id)
        query = query.order_by(roleplay_sessions.c.updated_at.desc()).limit(limit)
        with self.engine.connect() as db:
            return [RoleplaySummary(**dict(r)) for r in db.execute(query).mappings()]

    def version(self) -> tuple[int, str]:
        """Changes whenever a session is graded (count of graded sessions and the latest grading time)."""
        t = roleplay_sessions
        with self.engine.connect() as db:
            count, last = db.execute(select(func.count(), func.max(t.c.updated_at)).where(t.c.grade.is_not(None))).one()
        return int(count), str(last or "")

    def frame(self) -> pd.DataFrame:
        """Every graded session, one row each (columns FRAME_COLUMNS; flags comma-joined), for reports."""
        t = roleplay_sessions
        query = select(t.c.id, t.c.owner, t.c.scenario, t.c.lang, t.c.total, t.c.updated_at, t.c.grade).where(
            t.c.grade.is_not(None)).order_by(t.c.updated_at)
        with self.engine.connect() as db:
            rows = db.execute(query).all()

        def text(i: int) -> pd.Series:
            return pd.Series([r[i] for r in rows], dtype=object)

        return pd.DataFrame({
            "session_id": text(0), "trainee": text(1), "scenario": text(2), "lang": text(3),
            "total": pd.Series([r[4] for r in rows], dtype="float64"),
            "finished_at": pd.to_datetime(text(5), utc=True, format="ISO8601").dt.tz_localize(None),
            "flags": pd.Series([",".join(json.loads(r[6]).get("flags", [])) for r in rows], dtype=object),
        }, columns=list(FRAME_COLUMNS))
