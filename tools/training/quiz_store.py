"""Quiz records (SQLite by default, any SQLAlchemy URL at scale): who took which quiz and the score.

A quiz is determined by (topic, n, lang, seed), so a record keeps those values, not the questions;
grading regenerates the quiz. Supervisors read everyone's records, other roles their own.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select, update

from tools.db import open_engine, utc_now

metadata = MetaData()
training_quizzes = Table(
    "training_quizzes", metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(128), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("topic", String(64)),
    Column("n", Integer, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("graded_at", String(32)),
    Column("answers", Text),  # JSON list
    Column("correct", Integer),
    Column("total", Integer),
    Column("score", Integer),
)


class QuizRecord(BaseModel):
    """One quiz taken (or being taken) by one API key."""

    id: str
    owner: str
    role: str
    topic: str | None = None
    n: int
    lang: str
    seed: int
    created_at: str
    graded_at: str | None = None
    answers: list[str | None] | None = None
    correct: int | None = None
    total: int | None = None
    score: int | None = Field(None, description="Percent correct, once graded.")



class QuizStore:
    """Create, grade and list quiz records."""

    def __init__(self, url: str):
        self.engine = open_engine(url, metadata)

    def create(self, owner: str, role: str, *, topic: str | None, n: int, lang: str, seed: int) -> QuizRecord:
        """Record a new quiz and return it."""
        record = QuizRecord(id=uuid.uuid4().hex, owner=owner, role=role, topic=topic, n=n, lang=lang, seed=seed,
                            created_at=utc_now())
        with self.engine.begin() as db:
            db.execute(insert(training_quizzes).values(**record.model_dump(exclude={"answers"})))
        return record

    def get(self, quiz_id: str) -> QuizRecord | None:
        """One record, or None."""
        with self.engine.connect() as db:
            row = db.execute(select(training_quizzes).where(training_quizzes.c.id == quiz_id)).mappings().first()
        return _record(row) if row is not None else None

    def grade(self, quiz_id: str, answers: list[str | None], correct: int, total: int, score: int) -> bool:
        """Store the grading once; False if the quiz was already graded (first submission wins)."""
        with self.engine.begin() as db:
            done = db.execute(
                update(training_quizzes)
                .where(training_quizzes.c.id == quiz_id, training_quizzes.c.graded_at.is_(None))
                .values(graded_at=utc_now(), answers=json.dumps(answers, ensure_ascii=False), correct=correct,
                        total=total, score=score)
            )
        return done.rowcount == 1

    def list(self, owner: str | None = None, limit: int = 100) -> list[QuizRecord]:
        """Records newest first: one owner's, or everyone's when owner is None."""
        query = select(training_quizzes).order_by(training_quizzes.c.created_at.desc()).limit(limit)
        if owner is not None:
            query = query.where(training_quizzes.c.owner == owner)
        with self.engine.connect() as db:
            return [_record(r) for r in db.execute(query).mappings()]


def _record(row: Any) -> QuizRecord:
    values = dict(row)
    values["answers"] = json.loads(values["answers"]) if values.get("answers") else None
    return QuizRecord(**values)


_STORES: dict[str, QuizStore] = {}
_STORES_LOCK = threading.Lock()


def quiz_store(url: str) -> QuizStore:
    """The shared store for a database URL (one engine per URL per process)."""
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = QuizStore(url)
        return store
