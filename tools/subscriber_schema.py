"""The subscriber data model: column dtypes of the Parquet tables and the pydantic records.

Frames use explicit pandas dtypes so that generated, imported and stored data look the same:
`string` for text, `boolean` / `Int64` for nullable flags and counts (unknown stays <NA>, never
guessed), `float64` for amounts (NaN = unknown) and `datetime64[ms]` for dates (the unit Parquet
round-trips). Any column starting with `x_` is an extra model feature kept from an import.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import InvalidInput
from tools.masking import mask_identifier, mask_msisdn
from tools.schemas import PaymentType, SubscriberSnapshot

LABEL_COLUMN = "churned_next_3m"
EXTRA_PREFIX = "x_"

PAYMENT_TYPES = ("postpaid", "quasi_prepaid", "prepaid")
PLAN_TYPES = ("single", "converged")
CONTRACT_TYPES = ("none", "handset_subsidy", "credit_subsidy", "mixed", "plan")
HANDSET_GENS = ("2g", "3g_basic", "smart")
PRICE_BANDS = ("low", "mid", "high")  # < 500, 500-2000, > 2000 yuan (domain.md 2.4 #4)
VIP_LEVELS = ("none", "silver", "gold", "diamond")
CUSTOMER_GROUPS = ("public", "enterprise", "campus", "family")

# One row per subscriber: identity, contract, value, risk facts, and the label.
SUBSCRIBER_COLUMNS: dict[str, str] = {
    "subscriber_id": "string",
    "msisdn": "string",  # full number; only ever shown masked
    "gender": "string",  # "m" | "f"
    "age": "Int64",
    "brand": "string",
    "customer_group": "string",  # CUSTOMER_GROUPS
    "payment_type": "string",  # PAYMENT_TYPES
    "bank_collection": "boolean",  # 银行托收 direct debit
    "region": "string",  # province
    "city": "string",
    "channel": "string",  # acquisition channel: own_store, partner_store, agent, online, ...
    "plan_id": "string",
    "plan_type": "string",  # PLAN_TYPES
    "plan_fee": "float64",  # monthly fee of the plan (yuan)
    "activation_date": "datetime64[ms]",
    "tenure_months": "Int64",
    "contract_type": "string",  # CONTRACT_TYPES
    "contract_end_date": "datetime64[ms]",  # NaT when no contract
    "contract_remaining_amount_pct": "float64",  # 0-100, NaN when no contract
    "is_group": "boolean",  # member of a group customer (>= 10 lines with an agreement)
    "group_id": "string",
    "group_size": "Int64",  # lines in the group (n of the cost caps)
    "unit_guarantee": "boolean",  # 单位协议担保
    "is_special": "boolean",  # party/government/military/key person
    "is_student": "boolean",
    "vip_level": "string",  # VIP_LEVELS
    "handset_gen": "string",  # HANDSET_GENS
    "handset_price_band": "string",  # PRICE_BANDS
    "points_balance": "float64",
    "arrears_amount": "float64",
    "arrears_days": "Int64",
    "suspensions_6m": "Int64",
    "complaints_90d": "Int64",
    "competitor_hotline_calls": "Int64",  # last 30 days
    "silent_days": "Int64",  # consecutive days without calls/SMS/data
    "cumulative_spend": "float64",
    "assigned_agent": "string",  # claimed retention manager, <NA> for mass customers
    # current-month value snapshot (also the only usage facts of imported data without history)
    "arpu_month": "float64",
    "arpu_3m_avg": "float64",
    "mou_month": "float64",
    "sms_month": "float64",
    "data_mb_month": "float64",
    "fwd_offnet_share_pct": "float64",
    "snapshot_date": "datetime64[ms]",  # the "as of" date of this row
    LABEL_COLUMN: "boolean",  # churned in the 3 months after snapshot_date; <NA> = unknown
    "churn_date": "datetime64[ms]",  # the day a labelled churner left (after snapshot_date); NaT otherwise
}

# Long format: one row per subscriber and month ("YYYY-MM").
USAGE_COLUMNS: dict[str, str] = {
    "subscriber_id": "string",
    "month": "string",
    "arpu": "float64",
    "mou": "float64",
    "sms": "int32",
    "data_mb": "float64",
    "distinct_called": "int32",
    "calling_count": "int32",
    "called_count": "int32",
    "fwd_count": "int32",
    "fwd_offnet_share_pct": "float64",  # share of call records forwarded to off-net numbers
    "competitor_hotline_calls": "int32",
    "complaints": "int32",
    "suspensions": "int32",
    "billed_amount": "float64",
}

# Retention work orders sent (派单): one row per subscriber, trigger and month (domain.md 6.5).
DISPATCH_TRIGGERS = ("renewal", "high_risk", "medium_risk", "revenue_drop", "zero_voice")
DISPATCH_COLUMNS: dict[str, str] = {
    "dispatch_id": "string",
    "subscriber_id": "string",
    "date": "datetime64[ms]",
    "month": "string",  # "YYYY-MM" of `date`
    "trigger": "string",  # DISPATCH_TRIGGERS: the 6.5 rule that selected the subscriber
    "scenario": "string",  # tools.schemas.Scenario: how the contact is worked
    "agent_team": "string",
    "agent_id": "string",
    "channel": "string",  # planned contact channel (CONTACT_CHANNELS)
    "measure_codes": "string",  # comma-separated measure codes, e.g. "RM001,RS002"
    "cost": "float64",  # retention money committed (yuan)
    "result": "string",  # pending | contacted | unreachable
}
# Retention contacts and their results (the history part of the outcome log, tools/outcomes.py).
CONTACT_CHANNELS = ("outbound_call", "sms", "store", "app", "wechat", "home_visit", "email")
CONTACT_RESULTS = ("retained", "renewed", "declined", "no_answer", "callback")
OUTCOME_COLUMNS: dict[str, str] = {
    "outcome_id": "string",
    "dispatch_id": "string",  # the work order this contact answers; <NA> for walk-ins and calls in
    "subscriber_id": "string",
    "date": "datetime64[ms]",  # contact time
    "scenario": "string",
    "agent_team": "string",
    "agent_id": "string",
    "channel": "string",  # CONTACT_CHANNELS
    "measure_codes": "string",
    "cost": "float64",
    "result": "string",  # CONTACT_RESULTS
    "reason": "string",  # free text, phone and ID numbers masked
}
# Subscribers who left during the history window (no usage rows): what the churn rate over time counts.
LEAVER_COLUMNS: dict[str, str] = {
    "subscriber_id": "string",
    "brand": "string",
    "region": "string",
    "city": "string",
    "channel": "string",
    "payment_type": "string",
    "plan_id": "string",
    "plan_type": "string",
    "activation_date": "datetime64[ms]",
    "tenure_months": "Int64",  # at the churn date
    "arpu_3m_avg": "float64",  # the last three months before leaving
    "value_tier": "string",  # segmentation last known before leaving
    "lifecycle_stage": "string",
    "risk_label": "string",
    "churn_date": "datetime64[ms]",
}

TABLES: dict[str, dict[str, str]] = {
    "subscribers": SUBSCRIBER_COLUMNS,
    "usage": USAGE_COLUMNS,
    "dispatches": DISPATCH_COLUMNS,
    "outcomes": OUTCOME_COLUMNS,
    "leavers": LEAVER_COLUMNS,
}

_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty frame with the given columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def conform(frame: pd.DataFrame, columns: dict[str, str], *, keep_extras: bool = True) -> pd.DataFrame:
    """Cast `frame` to the schema: missing columns become all-null, `x_` extras are kept."""
    out: dict[str, Any] = {}
    n = len(frame)
    for name, dtype in columns.items():
        if name in frame.columns:
            out[name] = _cast(frame[name], dtype)
        else:
            out[name] = pd.Series([None] * n, dtype=_null_dtype(dtype), index=frame.index)
    result = pd.DataFrame(out, index=frame.index)
    if keep_extras:
        extras = [c for c in frame.columns if c.startswith(EXTRA_PREFIX) and c not in columns]
        for name in extras:
            result[name] = frame[name]
    return result.reset_index(drop=True)


def _null_dtype(dtype: str) -> str:
    # plain numpy ints cannot hold nulls: a missing int column is read as nullable
    return {"int32": "Int32", "int64": "Int64"}.get(dtype, dtype)


def _cast(series: pd.Series, dtype: str) -> pd.Series:
    if str(series.dtype) == dtype:
        return series
    if dtype.startswith("datetime64"):
        return pd.to_datetime(series, errors="raise").astype(dtype)
    if dtype == "boolean" and not pd.api.types.is_bool_dtype(series):
        if pd.api.types.is_numeric_dtype(series):
            return series.astype("Float64").astype("boolean")
        text = series.astype("string").str.strip().str.lower()
        return text.map(_BOOL_TEXT, na_action="ignore").astype("boolean")
    if dtype.startswith("int") and series.isna().any():
        return series.astype(_null_dtype(dtype))
    return series.astype(dtype)


# --- records ---------------------------------------------------------------------------------


class Subscriber(BaseModel):
    """One subscriber as the agent sees it; the phone number only appears masked."""

    model_config = ConfigDict(extra="forbid")

    subscriber_id: str
    masked_msisdn: str | None = Field(None, description="e.g. 138****5678")
    msisdn: str | None = Field(None, repr=False, exclude=True)  # internal use only, never dumped
    gender: Literal["m", "f"] | None = None
    age: int | None = None
    brand: str | None = None
    customer_group: str | None = None
    payment_type: PaymentType | None = None
    bank_collection: bool | None = None
    region: str | None = None
    city: str | None = None
    channel: str | None = None
    plan_id: str | None = None
    plan_type: str | None = None
    plan_fee: float | None = None
    activation_date: date | None = None
    tenure_months: int | None = None
    contract_type: str | None = None
    contract_end_date: date | None = None
    contract_remaining_amount_pct: float | None = None
    is_group: bool | None = None
    group_id: str | None = None
    group_size: int | None = None
    unit_guarantee: bool | None = None
    is_special: bool | None = None
    is_student: bool | None = None
    vip_level: str | None = None
    handset_gen: str | None = None
    handset_price_band: str | None = None
    points_balance: float | None = None
    arrears_amount: float | None = None
    arrears_days: int | None = None
    suspensions_6m: int | None = None
    complaints_90d: int | None = None
    competitor_hotline_calls: int | None = None
    silent_days: int | None = None
    cumulative_spend: float | None = None
    assigned_agent: str | None = None
    arpu_month: float | None = None
    arpu_3m_avg: float | None = None
    mou_month: float | None = None
    sms_month: float | None = None
    data_mb_month: float | None = None
    fwd_offnet_share_pct: float | None = None
    snapshot_date: date | None = None
    churned_next_3m: bool | None = Field(None, description="Label: churned within 3 months.")
    churn_date: date | None = Field(None, description="When a labelled churner left, if known.")
    extras: dict[str, int | float | str | bool | None] = Field(
        default_factory=dict, description="Imported model features (x_ columns)."
    )


class SubscriberPage(BaseModel):
    """One page of a subscriber search."""

    items: list[Subscriber]
    total: int = Field(..., ge=0, description="Matches before paging.")
    offset: int = Field(..., ge=0)
    limit: int = Field(..., ge=1)


class UsageMonth(BaseModel):
    """One month of a subscriber's usage."""

    month: str
    arpu: float
    mou: float
    sms: int
    data_mb: float
    distinct_called: int
    calling_count: int
    called_count: int
    fwd_count: int
    fwd_offnet_share_pct: float
    competitor_hotline_calls: int
    complaints: int
    suspensions: int
    billed_amount: float


def subscriber_from_row(row: dict[str, Any]) -> Subscriber:
    """Build a `Subscriber` from one table row (NA/NaN/NaT become None; x_ columns go to extras)."""
    clean: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in row.items():
        value = _py(value)
        if key.startswith(EXTRA_PREFIX):
            extras[key] = value
        elif key in SUBSCRIBER_COLUMNS:
            clean[key] = value
    clean["masked_msisdn"] = mask_msisdn(clean.get("msisdn"))
    return Subscriber(**clean, extras=extras)


def _py(value: Any) -> Any:
    """A plain Python value for pydantic: nulls become None, timestamps dates, numpy scalars native."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
        if isinstance(value, float) and value != value:
            return None
    return value


# --- snapshot for the playbook rules ----------------------------------------------------------


def _pct_change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous <= 0:
        return None
    return round((current - previous) / previous * 100.0, 2)


def _months_between(start: date, end: date) -> int:
    return max(0, (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day))


def build_snapshot(
    row: dict[str, Any],
    usage: pd.DataFrame,
    network_avg_arpu: float,
    network_avg_tenure_months: float | None,
    cumulative_spend_rank_pct: float | None,
    as_of: date | None = None,
) -> SubscriberSnapshot:
    """Turn one subscriber row plus its usage months into the rules' `SubscriberSnapshot`.

    Changes are month-on-month (last month against the one before, as domain.md 6.1 reads
    them); the 3-month ARPU is the mean of the last three months up to `as_of`. Without usage
    history (imported data), the row's own snapshot fields are used.
    """
    row = {k: _py(v) for k, v in row.items()}
    as_of = as_of or row.get("snapshot_date") or datetime.now().date()
    months = usage[usage["month"] <= f"{as_of:%Y-%m}"].sort_values("month") if len(usage) else usage
    recs = [{k: _py(v) for k, v in r.items()} for r in months.tail(3).to_dict("records")]
    last = recs[-1] if recs else {}
    prev = recs[-2] if len(recs) >= 2 else {}

    def ratio(r: dict[str, Any]) -> float | None:
        calling = r.get("calling_count")
        return r["called_count"] / calling if calling else None

    arpu_3m = float(np.mean([r["arpu"] for r in recs])) if recs else None
    if arpu_3m is None:
        arpu_3m = row.get("arpu_3m_avg") if row.get("arpu_3m_avg") is not None else row.get("arpu_month")
    tenure = row.get("tenure_months")
    if tenure is None and row.get("activation_date") is not None:
        tenure = _months_between(row["activation_date"], as_of)
    end = row.get("contract_end_date")
    complaints = row.get("complaints_90d")
    if complaints is None and recs:
        complaints = int(sum(r["complaints"] for r in recs))
    hotline = row.get("competitor_hotline_calls")
    if hotline is None and last:
        hotline = last["competitor_hotline_calls"]
    share = last.get("fwd_offnet_share_pct", row.get("fwd_offnet_share_pct"))
    age = row.get("age")
    values: dict[str, Any] = {
        "tenure_months": tenure,
        "arpu_3m_avg": None if arpu_3m is None else round(max(0.0, arpu_3m), 2),
        "network_avg_arpu": network_avg_arpu,
        "payment_type": row.get("payment_type"),
        "contract_end_in_days": (end - as_of).days if end is not None else None,
        "contract_remaining_amount_pct": _clip(row.get("contract_remaining_amount_pct"), 0, 100),
        "arpu_change_pct": _pct_change(last.get("arpu"), prev.get("arpu")),
        "mou_change_pct": _pct_change(last.get("mou"), prev.get("mou")),
        "distinct_called_numbers_change_pct": _pct_change(
            last.get("distinct_called"), prev.get("distinct_called")
        ),
        "called_calling_ratio_change_pct": _pct_change(ratio(last), ratio(prev)) if prev else None,
        "forwards_to_competitor": last.get("fwd_count"),
        "forward_share_pct": _clip(share, 0, 100),
        "complaints_90d": complaints,
        "competitor_hotline_calls": hotline,
        "silent_days": row.get("silent_days"),
        "arrears_days": row.get("arrears_days"),
        "is_group": row.get("is_group"),
        "group_size": row.get("group_size"),
        "is_special": row.get("is_special"),
        "cumulative_spend_rank_pct": cumulative_spend_rank_pct,
        "network_avg_tenure_months": network_avg_tenure_months or None,
        "brand": row.get("brand"),
        "is_student": row.get("is_student"),
        "points_balance": _clip(row.get("points_balance"), 0, None),
        "age": age if age is not None and 0 <= age <= 130 else None,
    }
    missing = [k for k in ("tenure_months", "arpu_3m_avg", "payment_type") if values[k] is None]
    if missing:
        raise InvalidInput(
            f"subscriber {mask_identifier(str(row.get('subscriber_id')))} lacks {', '.join(missing)}; "
            "the rules need them"
        )
    try:
        return SubscriberSnapshot(**values)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise InvalidInput(f"subscriber data out of range for: {fields}") from exc


def _clip(value: float | None, low: float | None, high: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if low is not None:
        value = max(low, value)
    if high is not None:
        value = min(high, value)
    return value
