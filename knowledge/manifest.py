"""The ingest manifest (SQLite): which files are indexed, their chunks, and cached embeddings.

The manifest is the source of truth for what is searchable: a vector left in Chroma by an
interrupted ingest is ignored because its id is not in `chunks`.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    chunks INTEGER NOT NULL, title TEXT, topic TEXT, lang TEXT, encoding TEXT, ingested_at TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, ordinal INTEGER NOT NULL, section TEXT NOT NULL,
    text TEXT NOT NULL, index_text TEXT NOT NULL, title TEXT, topic TEXT, lang TEXT
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class ChunkRow:
    """A stored passage: display text, index text and where it comes from."""

    id: str
    source: str
    ordinal: int
    section: str
    text: str
    index_text: str
    title: str | None = None
    topic: str | None = None
    lang: str | None = None


@dataclass
class FileRow:
    """A file the index holds, with the hash that decides whether it changed."""

    source: str
    path: str
    sha256: str
    size: int
    chunks: int
    title: str | None = None
    topic: str | None = None
    lang: str | None = None
    encoding: str | None = None


class Manifest:
    """Thread-safe access to the manifest database under the knowledge dir."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # --- files ------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        """Every indexed file by source name."""
        with self._lock:
            rows = self._db.execute(
                "SELECT source, path, sha256, size, chunks, title, topic, lang, encoding FROM files"
            ).fetchall()
        return {r[0]: FileRow(*r) for r in rows}

    def chunk_ids(self, source: str) -> list[str]:
        """Ids of the chunks of one source."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM chunks WHERE source = ?", (source,)).fetchall()
        return [r[0] for r in rows]

    def replace_source(self, file: FileRow, chunks: Sequence[ChunkRow]) -> None:
        """Atomically replace one source's file row and chunks."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM chunks WHERE source = ?", (file.source,))
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        (c.id, c.source, c.ordinal, c.section, c.text, c.index_text, c.title, c.topic, c.lang)
                        for c in chunks
                    ],
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (file.source, file.path, file.sha256, file.size, len(chunks), file.title,
                     file.topic, file.lang, file.encoding, now),
                )
                self._bump_version()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def remove_source(self, source: str) -> list[str]:
        """Drop a source and return the ids of its chunks."""
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE source = ?", (source,))]
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM chunks WHERE source = ?", (source,))
            self._db.execute("DELETE FROM files WHERE source = ?", (source,))
            self._bump_version()
            self._db.execute("COMMIT")
        return ids

    # --- chunks -----------------------------------------------------------------------
    def iter_chunks(self) -> Iterator[ChunkRow]:
        """Every chunk in a stable order (source, ordinal)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, source, ordinal, section, text, index_text, title, topic, lang "
                "FROM chunks ORDER BY source, ordinal"
            ).fetchall()
        for row in rows:
            yield ChunkRow(*row)

    def chunk_count(self) -> int:
        """Number of searchable chunks."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    # --- version (changes whenever chunks change; the lexical index is keyed by it) --------
    def _bump_version(self) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES ('version', '1') ON CONFLICT(key) DO UPDATE "
            "SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
        )

    def version(self) -> int:
        """A counter that grows with every change to the chunks."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return int(row[0]) if row else 0

    # --- embedding cache ---------------------------------------------------------------
    def cached_embeddings(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for these content keys."""
        keys = list(keys)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", part
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def cache_embeddings(self, items: dict[str, np.ndarray]) -> None:
        """Remember vectors by content key (float32 bytes, never pickled)."""
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )
