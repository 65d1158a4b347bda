"""SubscriberStore: the subscriber, usage, dispatch and outcome tables as Parquet, queried with DuckDB.

Every value that comes from a caller reaches DuckDB as a query parameter, never as SQL text.
Writes go to temporary files that are renamed into place, so a crash never leaves a half-written
table. Network averages and spend ranks are computed from the data and cached per data version
(the files' size and modification time).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from tools.errors import InvalidInput, SubscriberNotFound
from tools.masking import looks_like_phone, mask_identifier, normalize_phone
from tools.parquet_writer import BatchWriter
from tools.schemas import SubscriberSnapshot
from tools.subscriber_filter import SubscriberFilter, where_clause
from tools.subscriber_schema import (
    TABLES,
    Subscriber,
    SubscriberPage,
    _py,
    build_snapshot,
    conform,
    empty_frame,
    subscriber_from_row,
)

MEMO_SIZE = 2048  # subscribers' rows, usage and scores kept in memory per data version

log = logging.getLogger(__name__)

MAX_PAGE = 500


class NetworkAverages(BaseModel):
    """Base-wide reference values computed from the stored subscribers."""

    arpu: float = Field(..., description="Mean of arpu_3m_avg over all subscribers (yuan).")
    tenure_months: float
    subscribers: int


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
    def batch_writer(self) -> Iterator[BatchWriter]:
        """Stream tables chunk by chunk; all files appear together on success, none on failure."""
        writer = BatchWriter(self)
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
        where, params = where_clause(filters)
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
