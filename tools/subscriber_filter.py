"""Subscriber search criteria and the SQL they compile to (column names fixed here; values bound)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.schemas import PaymentType

ValueTier = Literal["high", "medium", "low", "group"]


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


def where_clause(f: SubscriberFilter) -> tuple[str, list[Any]]:
    """The WHERE clause of a filter over the subscribers table: fixed SQL text, values as parameters."""
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
