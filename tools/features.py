"""Churn-model features: a pure function from a chunk of subscribers (+ their usage) to a frame.

`build_features` never looks outside the chunk it is given (the network average comes in as an
argument), so the same code runs chunk by chunk here and under Spark `mapInPandas` or Dask
`map_partitions`. It is vectorised: usage rows are scattered into (subscribers x months) float32
matrices by position, then every trend is a numpy reduction over those matrices. Imported data
without usage history (IBM Telco, BigML) gets the subscriber-level features plus its `x_` columns.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from tools.errors import InvalidInput

ID_COLUMN = "subscriber_id"
MONTHS = 12  # usage window; the last column is the snapshot month

# Subscriber columns used as they are (float32). Identity, dates, free text and gender are not.
NUMERIC_COLUMNS = (
    "tenure_months", "age", "plan_fee", "arpu_3m_avg", "arpu_month", "mou_month", "sms_month",
    "data_mb_month", "fwd_offnet_share_pct", "contract_remaining_amount_pct", "group_size",
    "points_balance", "arrears_amount", "arrears_days", "suspensions_6m", "complaints_90d",
    "competitor_hotline_calls", "silent_days", "cumulative_spend",
)
FLAG_COLUMNS = ("is_group", "is_special", "is_student", "unit_guarantee", "bank_collection")
CATEGORICAL_COLUMNS = (
    "brand", "payment_type", "customer_group", "plan_type", "contract_type", "handset_gen",
    "handset_price_band", "channel", "region", "vip_level",
)
USAGE_VALUES = (
    "arpu", "mou", "sms", "data_mb", "distinct_called", "calling_count", "called_count",
    "fwd_count", "fwd_offnet_share_pct", "competitor_hotline_calls", "complaints", "suspensions",
)
EXTRA_PREFIX = "x_"
# Columns `build_features` reads: batch scoring loads only these (plus `x_` columns).
SUBSCRIBER_INPUTS = (ID_COLUMN, *NUMERIC_COLUMNS, *FLAG_COLUMNS, *CATEGORICAL_COLUMNS,
                     "contract_end_date", "contract_type", "snapshot_date")
USAGE_INPUTS = (ID_COLUMN, "month", *USAGE_VALUES)
LABEL_COLUMN = "churned_next_3m"
EXCLUDED = frozenset({"gender", "x_gender"})  # not a retention lever; kept out of the model
MAX_CATEGORIES = 100  # more distinct values than this looks like an identifier, not a feature


def build_features(
    subscribers: pd.DataFrame,
    usage: pd.DataFrame | None = None,
    network_avg_arpu: float | None = None,
) -> pd.DataFrame:
    """Model features for a chunk of subscribers: one row each, `subscriber_id` first, float32/category."""
    n = len(subscribers)
    out: dict[str, object] = {}
    ids = subscribers[ID_COLUMN] if ID_COLUMN in subscribers else pd.Series(np.arange(n)).astype(str)
    out[ID_COLUMN] = pd.array(ids, dtype="string")
    for name in NUMERIC_COLUMNS:
        if name in subscribers:
            out[name] = _num(subscribers[name])
    for name in FLAG_COLUMNS:
        if name in subscribers:
            out[name] = _num(subscribers[name])
    if "contract_end_date" in subscribers:
        ref = _reference_dates(subscribers)
        end = pd.to_datetime(subscribers["contract_end_date"]).to_numpy("datetime64[D]")
        days = np.where(np.isnat(end), np.nan, (end - ref).astype("int64"))  # NaT: no contract
        out["contract_days_to_end"] = days.astype(np.float32)
        out["has_contract"] = (~np.isnan(days)).astype(np.float32)
    if "contract_type" in subscribers and "has_contract" not in out:
        ctype = subscribers["contract_type"].astype("string")
        out["has_contract"] = _num(ctype.notna() & (ctype != "none"))
    if usage is not None and len(usage) and n:
        out.update(usage_features(subscribers, usage))
        if "arpu_3m_avg" not in out or np.isnan(out["arpu_3m_avg"]).all():  # type: ignore[arg-type]
            out["arpu_3m_avg"] = out["arpu_last3"]
    out.pop("arpu_last3", None)
    # value relative to the network average replaces the absolute ARPU (same information,
    # comparable across operators and years); the network average comes from the caller.
    arpu = out.pop("arpu_3m_avg", out.get("arpu_month"))
    if arpu is not None:
        arpu = np.asarray(arpu, dtype=np.float32)
        avg = network_avg_arpu or (float(np.nanmean(arpu)) if n else np.nan)
        out["arpu_vs_network"] = (arpu / np.float32(avg)).astype(np.float32)
        if "plan_fee" in out:
            fee = np.asarray(out["plan_fee"], dtype=np.float32)
            with _quiet():
                out["arpu_vs_plan"] = np.where(fee > 0, arpu / fee, np.nan).astype(np.float32)
    for name in CATEGORICAL_COLUMNS:
        if name in subscribers:
            out[name] = _cat(subscribers[name])
    for name in subscribers.columns:
        if name.startswith(EXTRA_PREFIX):
            col = subscribers[name]
            numeric = pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
            out[name] = _num(col) if numeric else _cat(col)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def usage_features(subscribers: pd.DataFrame, usage: pd.DataFrame) -> dict[str, np.ndarray]:
    """Trend features from the last 12 months of usage (last 3 vs previous 3, slopes, counts)."""
    m = usage_matrices(subscribers, usage)
    nan = np.full(len(subscribers), np.nan, dtype=np.float32)

    def get(name: str) -> np.ndarray:
        return m.get(name, np.full((len(subscribers), MONTHS), np.nan, dtype=np.float32))

    arpu, mou, calling, called = get("arpu"), get("mou"), get("calling_count"), get("called_count")
    last3, prev3 = slice(MONTHS - 3, MONTHS), slice(MONTHS - 6, MONTHS - 3)
    f: dict[str, np.ndarray] = {}
    with _quiet():
        f["arpu_last3"] = np.nanmean(arpu[:, last3], axis=1)
        for name, base in (("arpu", arpu), ("mou", mou), ("data", get("data_mb")),
                           ("sms", get("sms")), ("distinct_called", get("distinct_called"))):
            f[f"{name}_change_pct"] = _pct(np.nanmean(base[:, last3], 1), np.nanmean(base[:, prev3], 1))
        f["arpu_mom_change_pct"] = _pct(arpu[:, -1], arpu[:, -2])
        f["mou_mom_change_pct"] = _pct(mou[:, -1], mou[:, -2])
        f["arpu_slope_pct"] = _slope_pct(arpu)
        f["mou_slope_pct"] = _slope_pct(mou)
        f["arpu_volatility_pct"] = (np.nanstd(arpu, 1) / np.nanmean(arpu, 1) * 100).astype(np.float32)
        ratio_last = np.nansum(called[:, last3], 1) / np.nansum(calling[:, last3], 1)
        ratio_prev = np.nansum(called[:, prev3], 1) / np.nansum(calling[:, prev3], 1)
        f["called_calling_ratio_change_pct"] = _pct(ratio_last, ratio_prev)
        f["zero_call_months_3m"] = (mou[:, last3] == 0).sum(1).astype(np.float32)
        quiet = (mou == 0) & (get("sms") == 0) & (get("data_mb") == 0)
        f["zero_activity_months_12m"] = quiet.sum(1).astype(np.float32)
        f["usage_months"] = (~np.isnan(arpu)).sum(1).astype(np.float32)
        share = get("fwd_offnet_share_pct")
        f["fwd_share_3m_pct"] = np.nanmean(share[:, last3], 1)
        f["fwd_months_over_10pct_3m"] = (share[:, last3] > 10).sum(1).astype(np.float32)
        for name, src in (("fwd_count_3m", "fwd_count"),
                          ("competitor_hotline_calls_3m", "competitor_hotline_calls"),
                          ("complaints_3m", "complaints")):
            f[name] = _sum_or_nan(get(src)[:, last3]) if src in m else nan
        sus = get("suspensions")[:, MONTHS - 6:]
        f["suspensions_per_month_6m"] = np.nanmean(sus, 1) if "suspensions" in m else nan
    return {k: np.asarray(v, dtype=np.float32) for k, v in f.items()}


def usage_matrices(subscribers: pd.DataFrame, usage: pd.DataFrame) -> dict[str, np.ndarray]:
    """Scatter long usage rows into (n_subscribers, 12) float32 matrices; missing months are NaN."""
    n = len(subscribers)
    pos = _positions(subscribers[ID_COLUMN], usage[ID_COLUMN])
    codes, uniques = pd.factorize(usage["month"])
    month_of_code = np.array([_month_number(u) for u in uniques], dtype=np.int64)
    month = month_of_code[codes] if len(uniques) else np.zeros(len(usage), np.int64)
    ref = _reference_months(subscribers, int(month.max()) if len(month) else 0)
    col = np.full(len(usage), -1, dtype=np.int64)
    hit = pos >= 0
    col[hit] = MONTHS - 1 - (ref[pos[hit]] - month[hit])
    ok = hit & (col >= 0) & (col < MONTHS)
    flat = pos[ok].astype(np.int64) * MONTHS + col[ok]
    out: dict[str, np.ndarray] = {}
    for name in USAGE_VALUES:
        if name not in usage:
            continue
        mat = np.full(n * MONTHS, np.nan, dtype=np.float32)
        mat[flat] = _num(usage[name])[ok]
        out[name] = mat.reshape(n, MONTHS)
    return out


@dataclass
class FeatureSpec:
    """The model's inputs: numeric columns (float32) and categorical columns with their categories."""

    numeric: list[str]
    categorical: dict[str, list[str]]

    @cached_property
    def dtypes(self) -> dict[str, pd.CategoricalDtype]:
        """One categorical dtype per categorical feature, built once."""
        return {name: pd.CategoricalDtype(cats) for name, cats in self.categorical.items()}

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """Model inputs as float64: numbers as they are, categories as their code in the spec
        (LightGBM's own codes, since it was trained on `apply`'s categoricals); missing is NaN."""
        n = len(features)
        out = np.full((n, len(self.columns)), np.nan)
        for j, name in enumerate(self.numeric):
            if name in features:
                out[:, j] = _num(features[name])
        for j, (name, dtype) in enumerate(self.dtypes.items(), start=len(self.numeric)):
            if name in features:
                codes = np.asarray(_recode(features[name], dtype, n).codes)
                out[:, j] = np.where(codes < 0, np.nan, codes)
        return out

    @property
    def columns(self) -> list[str]:
        """All feature names in model order."""
        return [*self.numeric, *self.categorical]

    @classmethod
    def infer(cls, features: pd.DataFrame) -> FeatureSpec:
        """Numeric and categorical columns of a training frame; empty, id-like, excluded and
        duplicate columns (e.g. an `x_` copy of a schema column) are dropped."""
        numeric: list[str] = []
        categorical: dict[str, list[str]] = {}
        seen: set[str] = set()
        for name in features.columns:
            col = features[name]
            if name == ID_COLUMN or name == LABEL_COLUMN or name in EXCLUDED or col.isna().all():
                continue
            is_cat = isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col)
            values = col.astype("string").to_numpy(dtype=object, na_value="\0") if is_cat else \
                col.to_numpy(dtype=np.float32, na_value=np.nan)
            digest = hashlib.sha1(repr(values.tolist()).encode() if is_cat else values.tobytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            if is_cat:
                cats = sorted(str(v) for v in pd.unique(col.dropna()))
                if len(cats) <= MAX_CATEGORIES:
                    categorical[name] = cats
            elif np.nanstd(values) > 0:
                numeric.append(name)
        if not numeric and not categorical:
            raise InvalidInput("no usable feature columns in the training data")
        return cls(numeric, categorical)

    def apply(self, features: pd.DataFrame) -> pd.DataFrame:
        """The frame in model order: numerics float32 (missing columns NaN), categories fixed."""
        n = len(features)
        out: dict[str, Any] = {}
        for name in self.numeric:
            col = features[name] if name in features else pd.Series(np.nan, index=features.index)
            out[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
        for name, dtype in self.dtypes.items():
            out[name] = _recode(features[name] if name in features else None, dtype, n)
        return pd.DataFrame(out, index=pd.RangeIndex(n))

    def to_json(self) -> dict[str, Any]:
        """The spec as metadata: names, dtypes and categories."""
        return {
            "numeric": [{"name": n, "dtype": "float32"} for n in self.numeric],
            "categorical": [{"name": n, "dtype": "category", "categories": c}
                            for n, c in self.categorical.items()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        """Rebuild the spec stored in metadata."""
        return cls([d["name"] for d in data["numeric"]],
                   {d["name"]: list(d["categories"]) for d in data["categorical"]})


# --- helpers ---------------------------------------------------------------------------------


def _num(col: pd.Series) -> np.ndarray:
    """A column as float32 with NaN for missing values (booleans become 0/1, junk becomes NaN)."""
    try:
        return col.to_numpy(dtype=np.float32, na_value=np.nan)
    except (TypeError, ValueError):
        return pd.to_numeric(col.astype(object), errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)


def _cat(col: pd.Series) -> pd.Categorical:
    """A column as a pandas categorical of strings (missing stays missing)."""
    if len(col) <= 64:  # one lookup: plain Python beats factorize
        seen: dict[str, int] = {}
        raw = col.to_numpy(dtype=object, na_value=None)
        codes = np.array([-1 if v is None or v != v else seen.setdefault(str(v), len(seen)) for v in raw],
                         dtype=np.int64)
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(seen)), validate=False)
    codes, uniques = pd.factorize(col)
    return pd.Categorical.from_codes(codes, categories=[str(u) for u in uniques], validate=False)


def _recode(values: pd.Series | None, dtype: pd.CategoricalDtype, n: int) -> pd.Categorical:
    """`values` as a categorical of `dtype` (unknown values and None become NaN)."""
    categories = dtype.categories
    if values is None:
        return pd.Categorical.from_codes(np.full(n, -1), dtype=dtype, validate=False)
    if n <= 64:  # one lookup: plain Python beats building pandas indexes
        index = {c: i for i, c in enumerate(categories)}
        raw = values.astype(object).to_numpy()
        codes = np.array([-1 if v is None or v is pd.NA or v != v else index.get(str(v), -1) for v in raw])
        return pd.Categorical.from_codes(codes.astype(np.int64), dtype=dtype, validate=False)
    cat = values.array if isinstance(values.dtype, pd.CategoricalDtype) else _cat(values)
    known = pd.Index([str(c) for c in cat.categories])
    lookup = categories.get_indexer(known) if len(known) else np.zeros(0, dtype=np.intp)
    codes = np.asarray(cat.codes)
    new = np.full(len(codes), -1, dtype=np.int64)
    hit = codes >= 0
    new[hit] = lookup[codes[hit]]
    return pd.Categorical.from_codes(new, dtype=dtype, validate=False)


def _pct(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Percent change, NaN when the base is missing or not positive; clipped to [-100, 500]."""
    change = np.where(previous > 0, (current - previous) / previous * 100.0, np.nan)
    return np.clip(change, -100.0, 500.0).astype(np.float32)


def _slope_pct(values: np.ndarray) -> np.ndarray:
    """Least-squares slope per month as a percent of the subscriber's mean, NaN-aware."""
    t = np.arange(values.shape[1], dtype=np.float32)[None, :]
    ok = ~np.isnan(values)
    cnt = ok.sum(1)
    y = np.where(ok, values, 0.0)
    tw = np.where(ok, t, 0.0)
    t_mean = tw.sum(1) / cnt
    y_mean = y.sum(1) / cnt
    dt = np.where(ok, t - t_mean[:, None], 0.0)
    slope = (dt * (y - y_mean[:, None]) * ok).sum(1) / (dt * dt).sum(1)
    pct = np.where((cnt >= 3) & (y_mean > 0), slope / y_mean * 100.0, np.nan)
    return np.clip(pct, -100.0, 100.0).astype(np.float32)


def _sum_or_nan(values: np.ndarray) -> np.ndarray:
    total = np.nansum(values, 1)
    return np.where(np.isnan(values).all(1), np.nan, total).astype(np.float32)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's 'mean of empty slice' warnings: all-NaN rows are expected (new lines)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


def _positions(sub_ids: pd.Series, usage_ids: pd.Series) -> np.ndarray:
    """Row position of each usage row's subscriber (-1 when unknown); fast for grouped usage."""
    index = pd.Index(pd.array(sub_ids, dtype="string"))
    if len(usage_ids) <= 1000:  # a lookup or a small chunk: hashing every row is cheapest
        return index.get_indexer(pd.array(usage_ids, dtype="string"))
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(pd.array(usage_ids, dtype="string"))
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if len(arr) > 1:
            change = pc.not_equal(arr.slice(1), arr.slice(0, len(arr) - 1))
            change = change.fill_null(True).to_numpy(zero_copy_only=False)
            starts = np.flatnonzero(np.concatenate([[True], change]))
        else:
            starts = np.arange(len(arr))
        run_ids = pd.Index(pd.array(arr.take(pa.array(starts)), dtype="string"))
        if run_ids.is_unique:  # usage grouped by subscriber: look up each run once
            run_pos = index.get_indexer(run_ids)
            lengths = np.diff(np.append(starts, len(arr)))
            return np.repeat(run_pos, lengths)
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    return index.get_indexer(pd.array(usage_ids, dtype="string"))


def _month_number(text: object) -> int:
    """'YYYY-MM' -> months since year 0, so that differences count months."""
    s = str(text)
    return int(s[:4]) * 12 + int(s[5:7]) - 1


def _reference_dates(subscribers: pd.DataFrame) -> np.ndarray:
    """Each subscriber's 'as of' day: `snapshot_date`, else today."""
    today = np.datetime64(pd.Timestamp.now().normalize().date(), "D")
    if "snapshot_date" not in subscribers:
        return np.full(len(subscribers), today)
    ref = pd.to_datetime(subscribers["snapshot_date"]).to_numpy("datetime64[D]")
    return np.where(np.isnat(ref), today, ref)


def _reference_months(subscribers: pd.DataFrame, fallback: int) -> np.ndarray:
    """The month that is column 11 for each subscriber: snapshot month, else the latest usage month."""
    if "snapshot_date" not in subscribers:
        return np.full(len(subscribers), fallback, dtype=np.int64)
    ref = pd.to_datetime(subscribers["snapshot_date"]).to_numpy("datetime64[M]")
    months = ref.astype("int64") + 1970 * 12
    return np.where(np.isnat(ref), fallback, months)


def feature_topics(features: pd.DataFrame, spec: FeatureSpec) -> dict[str, str]:
    """Features that restate a finer categorical feature, mapped to it (e.g. `contract_type`, a
    coarsening of `x_contract`), so that an explanation names one fact once.

    A feature A restates a categorical feature B when B has more distinct values and every value
    of B goes with a single value of A in the training rows. B needs at least 20 rows per category
    for that to mean something (on a few rows, any feature looks like a function of a region).
    """
    sample = features.head(200_000)
    finer = sorted((c for c in spec.categorical if len(sample) >= 20 * max(1, len(spec.categorical[c]))),
                   key=lambda c: -len(spec.categorical[c]))
    if not finer:
        return {}
    topics: dict[str, str] = {}
    for name in spec.columns:
        distinct = sample[name].nunique(dropna=False)
        if distinct < 2:
            continue
        for parent in finer:
            if parent == name or len(spec.categorical[parent]) <= distinct:
                continue
            if sample.groupby(sample[parent].astype("string"), dropna=False, observed=True)[name] \
                    .nunique(dropna=False).max() <= 1:
                topics[name] = parent
                break
    return topics
