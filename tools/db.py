"""The one way records databases are opened (conversations, outcomes, quizzes, practice sessions).

SQLite by default (a file in the data dir), any SQLAlchemy URL at scale (PostgreSQL). SQLite runs in
WAL mode so readers never block the writer, waits up to 5 s for a lock instead of failing, and
commits with synchronous=NORMAL: a commit survives a process crash without an fsync per record.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import MetaData, create_engine, event


def open_engine(url: str, metadata: MetaData | None = None) -> Any:
    """An Engine for `url`, with the SQLite pragmas above, and `metadata`'s tables created."""
    engine = create_engine(url, future=True)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA busy_timeout=5000")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    if metadata is not None:
        metadata.create_all(engine)
    return engine


def utc_now() -> str:
    """Now in UTC as ISO 8601 with milliseconds (how records store their times)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
