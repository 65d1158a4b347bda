"""SubscriberStore: the subscriber, usage, dispatch and outcome tables as Parquet, queried with DuckDB.

Every value that comes from a caller reaches DuckDB as a query parameter, never as SQL text.
Writes go to temporary files that are renamed into place, so a crash never leaves a half-written
table. Network averages and spend ranks are computed from the data and cached per data version
(the files' size and modification time).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import InvalidInput, SubscriberNotFound
from tools.schemas import PaymentType, SubscriberSnapshot
from tools.subscriber_schema import (
    TABLES,
    Subscriber,
    SubscriberPage,
    _py,
    build_snapshot,
    conform,
    empty_frame,
    looks_like_phone,
    mask_identifier,
    normalize_phone,
    subscriber_from_row,
)

MEMO_SIZE = 2048  # subscribers' rows, usage and scores kept in memory per data version

log = logging.getLogger(__name__)

ValueTier = Literal["high", "medium", "low", "group"]
MAX_PAGE = 500


class NetworkAverages(BaseModel):
    """Base-wide reference values computed from the stored subscribers."""

    arpu: float = Field(..., description="Mean of arpu_3m_avg over all subscribers (yuan).")
    tenure_months: float
    subscribers: int


class SubscriberFilter(BaseModel):
    """Search criteria; every field is optional and they combine with AND."""

    model_config = ConfigDict(extra="forbid")

    brand: str | None = None
    region: str | None = None
    city: str | None = None
    payment_type: PaymentType | None = None
    value_tier: ValueTier | None = None
    plan_type: Literal["single", "converged"] | None = None
    is_group: bool | None = None
    is_student: bool | None = None
    min_tenure_months: int | None = Field(None, ge=0)
    max_tenure_months: int | None = Field(None, ge=0)
    min_arpu: float | None = Field(None, ge=0, description="On arpu_3m_avg.")
    max_arpu: float | None = Field(None, ge=0)
    contract_expiring_within_days: int | None = Field(None, ge=0)
    min_complaints_90d: int | None = Field(None, ge=0)
    min_silent_days: int | None = Field(None, ge=0)
    min_competitor_hotline_calls: int | None = Field(None, ge=0)
    min_fwd_offnet_share_pct: float | None = Field(None, ge=0, le=100)
    in_arrears: bool | None = None
    churned_next_3m: bool | None = None


class SubscriberStore:
    """Parquet tables under `data_dir/subscribers/`, read with DuckDB and pandas."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "subscribers"
        self._db: Any = None
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}
        self._cache_version: tuple | None = None
        self._memo: OrderedDict[tuple, Any] = OrderedDict()
        self._memo_version: tuple | None = None

    # --- files ---------------------------------------------------------------------------

    def path(self, table: str) -> Path:
        """Path of one table's Parquet file."""
        if table not in TABLES:
            raise InvalidInput(f"unknown table {table!r}; expected one of {sorted(TABLES)}")
        return self.root / f"{table}.parquet"

    def exists(self) -> bool:
        """True when a subscribers table has been written."""
        return self.path("subscribers").is_file()

    def version(self) -> tuple:
        """Identifies the stored data; changes whenever a table is rewritten."""
        parts = []
        for table in TABLES:
            p = self.path(table)
            st = p.stat() if p.is_file() else None
            parts.append((table, st.st_mtime_ns, st.st_size) if st else (table, None, None))
        return tuple(parts)

    @contextmanager
    def batch_writer(self) -> Iterator[_BatchWriter]:
        """Stream tables chunk by chunk; all files appear together on success, none on failure."""
        writer = _BatchWriter(self)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def write(self, frames: dict[str, pd.DataFrame]) -> dict[str, Path]:
        """Replace the store with `frames` (tables not given are written empty), atomically."""
        unknown = set(frames) - set(TABLES)
        if unknown:
            raise InvalidInput(f"unknown tables {sorted(unknown)}; expected {sorted(TABLES)}")
        with self.batch_writer() as writer:
            for table in TABLES:
                writer.append(table, frames.get(table, empty_frame(TABLES[table])))
        return {table: self.path(table) for table in TABLES}

    def read_table(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A whole table as a schema-typed DataFrame (empty when not written yet)."""
        import pyarrow.parquet as pq

        p = self.path(table)
        if not p.is_file():
            return empty_frame(TABLES[table])
        frame = pq.read_table(p, columns=columns).to_pandas()
        schema = TABLES[table]
        if columns is not None:
            schema = {c: schema[c] for c in columns if c in schema}
        return conform(frame, schema)

    def iter_batches(self, table: str, batch_size: int = 100_000) -> Iterator[pd.DataFrame]:
        """Yield a table in schema-typed chunks, for batch work with bounded memory."""
        import pyarrow.parquet as pq

        p = self.path(table)
        if not p.is_file():
            return
        for batch in pq.ParquetFile(p).iter_batches(batch_size=batch_size):
            yield conform(batch.to_pandas(), TABLES[table])

    # --- queries -------------------------------------------------------------------------

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    import duckdb

                    self._db = duckdb.connect()
        cursor = self._db.cursor()  # one cursor per call: safe across threads
        try:
            result = cursor.execute(sql, params)
            names = [d[0] for d in result.description]
            return [dict(zip(names, row)) for row in result.fetchall()]
        finally:
            cursor.close()

    def _require(self) -> str:
        if not self.exists():
            raise SubscriberNotFound(
                f"no subscriber data under {self.root}: run `retention data generate` or "
                "`retention data import` first"
            )
        return str(self.path("subscribers"))

    def memo(self, key: tuple, compute: Any) -> Any:
        """Per-record results (a row, a usage history, a risk score) kept for the last MEMO_SIZE keys.

        The memo is dropped whenever a table is rewritten, so callers never see stale data; one
        answer looks the same subscriber up several times (facts, risk, offers, script).
        """
        version = self.version()
        with self._lock:
            if version != self._memo_version:
                self._memo.clear()
                self._memo_version = version
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = compute()
        with self._lock:
            if self._memo_version == version:
                self._memo[key] = value
                while len(self._memo) > MEMO_SIZE:
                    self._memo.popitem(last=False)
        return value

    def _raw(self, subscriber_id: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any] | None:
            rows = self._rows(
                "SELECT * FROM read_parquet(?) WHERE subscriber_id = ? LIMIT 1",
                [self._require(), str(subscriber_id)],
            )
            return rows[0] if rows else None

        row = self.memo(("raw", str(subscriber_id)), fetch)
        if row is None:
            raise SubscriberNotFound(
                f"no subscriber with id {mask_identifier(str(subscriber_id))!r}; "
                "give a subscriber id or an 11-digit mobile number"
            )
        return dict(row)

    def get(self, subscriber_id: str) -> Subscriber:
        """The subscriber with this id; raises SubscriberNotFound."""
        return subscriber_from_row(self._raw(subscriber_id))

    def get_by_phone(self, msisdn: str) -> Subscriber:
        """The subscriber with this mobile number (spaces, dashes and +86 are accepted)."""
        digits = normalize_phone(msisdn)
        rows = self._rows(
            "SELECT * FROM read_parquet(?) WHERE msisdn = ? LIMIT 1", [self._require(), digits]
        )
        if not rows:
            raise SubscriberNotFound(f"no subscriber with phone number {mask_identifier(digits)}")
        return subscriber_from_row(rows[0])

    def lookup(self, subscriber_id_or_phone: str) -> Subscriber:
        """By id first, then by phone number when the key looks like one."""
        key = str(subscriber_id_or_phone).strip()
        if not key:
            raise InvalidInput("give a subscriber id or a mobile number")
        try:
            return self.get(key)
        except SubscriberNotFound:
            if not looks_like_phone(key):
                raise
        return self.get_by_phone(key)

    def find(
        self, filters: SubscriberFilter | None = None, offset: int = 0, limit: int = 20
    ) -> SubscriberPage:
        """Subscribers matching `filters`, ordered by id, one page at a time."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"offset must be >= 0 and limit between 1 and {MAX_PAGE}")
        filters = filters or SubscriberFilter()
        if not self.exists():
            return SubscriberPage(items=[], total=0, offset=offset, limit=limit)
        where, params = self._where(filters)
        base, base_params = self._base_sql(with_tier=filters.value_tier is not None)
        params = [*base_params, *params]
        total = self._rows(f"{base} SELECT count(*) AS n FROM t WHERE {where}", params)[0]["n"]
        rows = self._rows(
            f"{base} SELECT * EXCLUDE (value_tier_) FROM t WHERE {where} "
            "ORDER BY subscriber_id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return SubscriberPage(
            items=[subscriber_from_row(r) for r in rows], total=int(total), offset=offset, limit=limit
        )

    def _base_sql(self, *, with_tier: bool) -> tuple[str, list[Any]]:
        # Value tier per domain.md 2.1, for filtering only; tools/rules.py is authoritative
        # for one subscriber (its thresholds come from the operator policy). The network
        # average and the top-20% / top-50% spend cut-offs come from the cache, so no window
        # function runs over the whole table.
        src = str(self.path("subscribers")).replace("'", "''")  # our own path, not user input
        if not with_tier:
            return f"WITH t AS (SELECT *, NULL AS value_tier_ FROM read_parquet('{src}'))", []
        avg = self.network_averages().arpu
        sql = f"""WITH t AS (SELECT *, CASE
            WHEN coalesce(is_group, false) AND coalesce(group_size, 0) >= 10
                 AND coalesce(unit_guarantee, true) THEN 'group'
            WHEN coalesce(is_special, false) THEN 'high'
            WHEN payment_type = 'postpaid' AND arpu_3m_avg > 3 * ? THEN 'high'
            WHEN payment_type = 'postpaid' AND arpu_3m_avg >= ? THEN 'medium'
            WHEN payment_type = 'quasi_prepaid' AND cumulative_spend >= ? THEN 'high'
            WHEN payment_type = 'quasi_prepaid' AND cumulative_spend >= ? THEN 'medium'
            ELSE 'low' END AS value_tier_ FROM read_parquet('{src}'))"""
        return sql, [avg, avg, self._spend_cutoff(20), self._spend_cutoff(50)]

    def _spend_cutoff(self, top_pct: float) -> float:
        """Smallest cumulative spend whose rank from the top is within `top_pct` percent."""
        spends = self._spends()
        k = int(spends.size * top_pct / 100)
        if k == 0:
            return float("inf")
        value = spends[spends.size - k]
        if spends.size - np.searchsorted(spends, value, side="left") > k:  # ties cross the line
            j = np.searchsorted(spends, value, side="right")
            return float(spends[j]) if j < spends.size else float("inf")
        return float(value)

    @staticmethod
    def _where(f: SubscriberFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []

        def add(sql: str, *values: Any) -> None:
            clauses.append(sql)
            params.extend(values)

        for column in ("brand", "region", "city", "payment_type", "plan_type"):
            value = getattr(f, column)
            if value is not None:
                add(f"{column} = ?", value)
        for column in ("is_group", "is_student", "churned_next_3m"):
            value = getattr(f, column)
            if value is not None:
                add(f"coalesce({column}, false) = ?", value)
        ranges = {
            "min_tenure_months": "tenure_months >= ?",
            "max_tenure_months": "tenure_months <= ?",
            "min_arpu": "arpu_3m_avg >= ?",
            "max_arpu": "arpu_3m_avg <= ?",
            "min_complaints_90d": "complaints_90d >= ?",
            "min_silent_days": "silent_days >= ?",
            "min_competitor_hotline_calls": "competitor_hotline_calls >= ?",
            "min_fwd_offnet_share_pct": "fwd_offnet_share_pct >= ?",
        }
        for name, sql in ranges.items():
            value = getattr(f, name)
            if value is not None:
                add(sql, value)
        if f.value_tier is not None:
            add("value_tier_ = ?", f.value_tier)
        if f.contract_expiring_within_days is not None:
            add(
                "contract_end_date IS NOT NULL AND date_diff('day', snapshot_date, "
                "contract_end_date) BETWEEN 0 AND ?",
                f.contract_expiring_within_days,
            )
        if f.in_arrears is not None:
            add("(coalesce(arrears_amount, 0) > 0) = ?", f.in_arrears)
        return " AND ".join(clauses), params

    def usage_history(self, subscriber_id: str) -> pd.DataFrame:
        """Monthly usage rows of one subscriber, oldest month first (empty when none)."""
        p = self.path("usage")
        if not p.is_file():
            return empty_frame(TABLES["usage"])

        def fetch() -> pd.DataFrame:
            rows = self._rows(
                "SELECT * FROM read_parquet(?) WHERE subscriber_id = ? ORDER BY month",
                [str(p), str(subscriber_id)],
            )
            return conform(pd.DataFrame(rows, columns=list(TABLES["usage"])), TABLES["usage"])

        return self.memo(("usage", str(subscriber_id)), fetch).copy()

    # --- cached aggregates ---------------------------------------------------------------

    def _cached(self, key: str, compute: Any) -> Any:
        version = self.version()
        with self._lock:
            if version != self._cache_version:
                self._cache, self._cache_version = {}, version
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
        return value

    def network_averages(self) -> NetworkAverages:
        """Average ARPU (3-month) and tenure over the stored subscribers, cached per data version."""

        def compute() -> NetworkAverages:
            row = self._rows(
                "SELECT avg(arpu_3m_avg) AS arpu, avg(tenure_months) AS tenure, count(*) AS n "
                "FROM read_parquet(?)",
                [self._require()],
            )[0]
            if not row["n"] or row["arpu"] is None or row["tenure"] is None:
                raise InvalidInput("the subscriber data has no ARPU or tenure values to average")
            return NetworkAverages(arpu=row["arpu"], tenure_months=row["tenure"], subscribers=row["n"])

        return self._cached("averages", compute)

    def _spends(self) -> np.ndarray:
        def compute() -> np.ndarray:
            col = self.read_table("subscribers", ["cumulative_spend"])["cumulative_spend"]
            return np.sort(col.dropna().to_numpy(dtype="float64"))

        return self._cached("spends", compute)

    def spend_rank_pct(self, cumulative_spend: float | None) -> float | None:
        """Rank from the top in percent (5 = within the top 5%) of a cumulative spend."""
        spends = self._spends()
        if cumulative_spend is None or spends.size == 0:
            return None
        above_or_equal = spends.size - np.searchsorted(spends, cumulative_spend, side="left")
        return float(min(100.0, 100.0 * max(above_or_equal, 1) / spends.size))

    # --- snapshot ------------------------------------------------------------------------

    def to_snapshot(self, subscriber_id: str, as_of: date | None = None) -> SubscriberSnapshot:
        """What the playbook rules need about one subscriber, as of `as_of` (default: the data's date)."""
        row = self._raw(subscriber_id)
        averages = self.network_averages()
        return build_snapshot(
            row,
            self.usage_history(subscriber_id),
            averages.arpu,
            averages.tenure_months,
            self.spend_rank_pct(_py(row.get("cumulative_spend"))),
            as_of,
        )


class _BatchWriter:
    """Appends chunks to temporary Parquet files; `commit` renames them into place."""

    def __init__(self, store: SubscriberStore) -> None:
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


# --- tool functions the agent calls -----------------------------------------------------------


def get_subscriber(store: SubscriberStore, subscriber_id_or_phone: str) -> Subscriber:
    """Look up one subscriber by subscriber id or by mobile number (e.g. 13812345678, +86 138-1234-5678).

    Returns the subscriber's profile: brand, payment type, plan, tenure, contract end, group,
    value facts (ARPU, cumulative spend) and risk facts (complaints, arrears, silent days,
    competitor-hotline calls, forwarding share). The phone number is only shown masked.
    """
    return store.lookup(subscriber_id_or_phone)


def find_subscribers(
    store: SubscriberStore,
    brand: str | None = None,
    region: str | None = None,
    payment_type: PaymentType | None = None,
    value_tier: ValueTier | None = None,
    min_tenure_months: int | None = None,
    max_tenure_months: int | None = None,
    min_arpu: float | None = None,
    max_arpu: float | None = None,
    contract_expiring_within_days: int | None = None,
    is_group: bool | None = None,
    is_student: bool | None = None,
    min_complaints_90d: int | None = None,
    min_silent_days: int | None = None,
    in_arrears: bool | None = None,
    offset: int = 0,
    limit: int = 20,
) -> SubscriberPage:
    """Search subscribers by brand, province (region), payment type, value tier and risk ranges.

    value_tier is one of high, medium, low, group (domain rules: ARPU multiples of the network
    average for post-paid, cumulative-spend rank for quasi-prepaid). Filters combine with AND;
    results are ordered by subscriber id; use offset/limit to page (limit at most 500).
    """
    criteria = {k: v for k, v in locals().items() if k not in ("store", "offset", "limit")}
    try:
        filters = SubscriberFilter(**criteria)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise InvalidInput(f"invalid search filter: {fields}") from exc
    return store.find(filters, offset=offset, limit=limit)
