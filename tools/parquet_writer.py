"""Writing the subscriber store's tables: chunks to temporary Parquet files, renamed into place at the end.

A crash or an error never leaves a half-written table: readers see the old files until `commit`.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from tools.subscriber_schema import TABLES, conform, empty_frame

log = logging.getLogger("tools.subscribers")


class BatchWriter:
    """Appends chunks to temporary Parquet files; `commit` renames them into place."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.tag = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.writers: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.rows: dict[str, int] = {}

    def _temp(self, table: str) -> Path:
        return self.store.path(table).with_name(f"{table}.parquet{self.tag}")

    def append(self, table: str, frame: pd.DataFrame) -> None:
        """Add a chunk of rows to `table` (conformed to the table's schema)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = conform(frame, TABLES[table], keep_extras=(table == "subscribers"))
        if table not in self.writers:
            self.store.root.mkdir(parents=True, exist_ok=True)
            self.schemas[table] = pa.Schema.from_pandas(frame, preserve_index=False)
            self.writers[table] = pq.ParquetWriter(self._temp(table), self.schemas[table])
            self.rows[table] = 0
        arrow = pa.Table.from_pandas(frame, schema=self.schemas[table], preserve_index=False)
        self.writers[table].write_table(arrow, row_group_size=100_000)
        self.rows[table] += len(frame)

    def commit(self) -> None:
        """Close every file, then rename all of them into place; missing tables are written empty."""
        for table in TABLES:
            if table not in self.writers:
                self.append(table, empty_frame(TABLES[table]))
        for writer in self.writers.values():
            writer.close()
        for table in self.writers:
            with open(self._temp(table), "rb") as fh:
                os.fsync(fh.fileno())
        for table in self.writers:
            os.replace(self._temp(table), self.store.path(table))
        log.info("wrote subscriber store: %s", {t: n for t, n in self.rows.items()})

    def abort(self) -> None:
        """Close and delete the temporary files."""
        for table, writer in self.writers.items():
            try:
                writer.close()
            finally:
                self._temp(table).unlink(missing_ok=True)
