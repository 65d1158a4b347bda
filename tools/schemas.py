"""Typed models the tools exchange: subscriber snapshots and their segmentation.

`SubscriberSnapshot` is the contract of `retention segment --json < snapshot.json`: the first four
fields are required, every other one is optional (unknown facts are `None`, never guessed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PaymentType = Literal["postpaid", "quasi_prepaid", "prepaid"]


class SubscriberSnapshot(BaseModel):
    """What the playbook rules need to know about one subscriber at one moment."""

    model_config = ConfigDict(extra="forbid")

    tenure_months: float = Field(..., ge=0, description="Months in network.")
    arpu_3m_avg: float = Field(..., ge=0, description="Average monthly revenue, last 3 months (yuan).")
    network_avg_arpu: float = Field(..., gt=0, description="Network-wide average ARPU (yuan).")
    payment_type: PaymentType

    contract_end_in_days: int | None = Field(None, description="Negative when already expired.")
    contract_remaining_amount_pct: float | None = Field(None, ge=0, le=100)
    arpu_change_pct: float | None = Field(None, description="Month-on-month change, e.g. -30.")
    mou_change_pct: float | None = None
    distinct_called_numbers_change_pct: float | None = None
    called_calling_ratio_change_pct: float | None = None
    forwards_to_competitor: int | None = Field(None, ge=0)
    forward_share_pct: float | None = Field(None, ge=0, le=100)
    complaints_90d: int | None = Field(None, ge=0)
    competitor_hotline_calls: int | None = Field(None, ge=0)
    silent_days: int | None = Field(None, ge=0)
    arrears_days: int | None = Field(None, ge=0)
    is_group: bool | None = None
    group_size: int | None = Field(None, ge=0)
    is_special: bool | None = None
    cumulative_spend_rank_pct: float | None = Field(
        None, ge=0, le=100, description="Rank from the top: 5 means in the top 5%."
    )
    network_avg_tenure_months: float | None = Field(None, gt=0)
    brand: str | None = None
    is_student: bool | None = None
    points_balance: float | None = Field(None, ge=0)
    age: int | None = Field(None, ge=0, le=130)


class Label(BaseModel):
    """A coded category with its Chinese and English names."""

    code: str
    zh: str
    en: str


class CostCaps(BaseModel):
    """Retention budget for one subscriber (yuan), and the rule that produced it."""

    monthly: float = Field(..., ge=0)
    total: float = Field(..., ge=0)
    rule: str


class Reason(BaseModel):
    """One rule that fired, explained in both languages."""

    code: str
    zh: str
    en: str


class Signal(Reason):
    """An early-warning signal that fired, with the observed value and the policy threshold."""

    value: float | None = None
    threshold: float | None = None


class RuleFactor(BaseModel):
    """One signal's part in the rule score, explained in both languages."""

    factor: str
    contribution: float = Field(
        ..., description="Log-odds added by this factor (the scale of SHAP-style contributions)."
    )
    zh: str
    en: str


class RuleScore(BaseModel):
    """The transparent rule score used when no trained churn model exists (not calibrated)."""

    probability: float = Field(..., ge=0, le=1)
    base_log_odds: float = Field(..., description="Log-odds with no signal; see the policy file.")
    factors: list[RuleFactor] = Field(default_factory=list, description="Largest first.")
    method: Literal["rules"] = "rules"


class Segmentation(BaseModel):
    """The playbook rules' verdict on a snapshot; every field carries its reasons."""

    lifecycle_stage: Label
    risk_label: str
    value_tier: Label
    cost_caps: CostCaps
    signals: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    passive_churn: bool = Field(
        False, description="Long arrears (5.4): route to collection (DA004), not to discounts."
    )
    rule_score: RuleScore | None = None
