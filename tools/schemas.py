"""Typed models the tools exchange: subscriber snapshots and their segmentation.

`SubscriberSnapshot` is the contract of `retention segment --json < snapshot.json`: the first four
fields are required, every other one is optional (unknown facts are `None`, never guessed).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator

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


class Citation(BaseModel):
    """A playbook passage an answer, offer or script section rests on (ids come from retrieval)."""

    id: str
    source: str
    section: str = ""
    text: str


class Offer(BaseModel):
    """One recommended retention measure for one subscriber, within the tier's budget."""

    measure_code: str
    title_zh: str
    title_en: str
    monthly_cost: float = Field(..., ge=0)
    one_off_cost: float = Field(..., ge=0)
    cap_monthly: float = Field(..., ge=0)
    cap_total: float = Field(..., ge=0)
    expected_value: float
    why: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)


# --- churn model (tools/churn.py) -------------------------------------------------------------

ChurnModelName = Literal["lightgbm", "logistic", "rules"]


class ChurnReason(RuleFactor):
    """One factor that pushes this subscriber's churn risk up, with its log-odds contribution."""


class ChurnRisk(BaseModel):
    """How likely a subscriber is to leave in the next 3 months, why, and what the rules say."""

    subscriber_id: str
    churn_probability: float = Field(..., ge=0, le=1, description="Calibrated 3-month probability.")
    risk_label: str = Field(..., description="stable | low | medium | high | churned (domain.md 1.4).")
    risk_reasons: list[Reason] = Field(default_factory=list, description="Why this risk label.")
    lifecycle_stage: Label
    value_tier: Label
    cost_caps: CostCaps
    reasons: list[ChurnReason] = Field(
        default_factory=list, description="Factors raising the risk, largest first."
    )
    signals: list[str] = Field(default_factory=list, description="Early-warning signals that fired.")
    passive_churn: bool = Field(False, description="Long arrears: collection (DA004), no discount.")
    model: ChurnModelName = Field(..., description="'rules' when no trained model exists.")
    model_trained_at: str | None = None


class HighRiskSubscriber(ChurnRisk):
    """A subscriber on the high-risk list, ranked by expected loss."""

    arpu: float = Field(..., ge=0, description="3-month average ARPU (yuan).")
    expected_loss: float = Field(
        ..., ge=0, description="churn_probability x ARPU x horizon months (yuan)."
    )


class ChurnMetrics(BaseModel):
    """Discrimination and calibration of churn probabilities (means over folds when CV)."""

    roc_auc: float
    pr_auc: float
    brier: float
    precision_at_top_decile: float


class ChurnEvaluation(ChurnMetrics):
    """`retention churn evaluate`: metrics of the chosen model plus every candidate's."""

    n: int
    positives: int
    model: str
    method: Literal["nested_cv", "holdout"]
    folds: int | None = None
    seed: int | None = None
    n_train: int | None = None
    selected_per_fold: list[str] = Field(default_factory=list)
    candidates: dict[str, ChurnMetrics] = Field(default_factory=dict)


class ChurnTrainReport(BaseModel):
    """`retention churn train`: what was trained, on what, and how well it cross-validated."""

    model: str
    model_dir: str
    n: int
    positives: int
    features: int
    data_hash: str
    trained_at: str
    calibration: str
    cv: dict[str, dict[str, float]]
    seconds: float


class ChurnScoreReport(BaseModel):
    """`retention churn score --all`: where the scores went."""

    out: str
    rows: int
    model: ChurnModelName
    seconds: float
    mean_probability: float
    risk_bands: dict[str, int] = Field(default_factory=dict)


# --- offers (tools/offers.py) -----------------------------------------------------------------

Scenario = Literal[
    "renewal", "routine", "campus", "silent", "port_out", "collection", "new_customer",
    "complaint_recovery",
]
HandsetGen = Literal["2g", "3g_basic", "smart"]


class SubscriberProfile(BaseModel):
    """Facts beyond the snapshot that the renewal "five distinctions" need (7.1); unknown = None."""

    model_config = ConfigDict(extra="forbid")

    handset_gen: HandsetGen | None = Field(None, description="2g | 3g_basic | smart.")
    plan_type: Literal["single", "converged"] | None = None
    plan_fee: float | None = Field(None, ge=0, description="Monthly fee of the plan (yuan).")
    contract_type: Literal["none", "handset_subsidy", "credit_subsidy", "mixed", "plan"] | None = None
    mou_month: float | None = Field(None, ge=0, description="Voice minutes last month.")
    data_mb_month: float | None = Field(None, ge=0, description="Mobile data last month (MB).")
    vip_level: Literal["none", "silver", "gold", "diamond"] | None = None
    handset_requested: bool | None = Field(
        None, description="The customer asked for a handset (机补 'on request', 7.1)."
    )


class DispatchRecord(BaseModel):
    """One retention work order (派单) or outcome for a subscriber: when, what, at what cost."""

    date: dt.date
    scenario: str | None = None
    measure_codes: list[str] = Field(default_factory=list)
    cost: float = Field(0.0, ge=0, description="Retention money spent (yuan).")
    result: str | None = None

    @field_validator("measure_codes", mode="before")
    @classmethod
    def _split_codes(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, str):  # the store keeps them comma-separated: "RM001,RS002"
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class SpendHistory(BaseModel):
    """Retention money already spent on one subscriber and its recent dispatches."""

    spent_total: float = Field(0.0, ge=0, description="All retention cost so far (yuan).")
    spent_this_month: float = Field(0.0, ge=0, description="Retention cost in the current month.")
    recent_dispatches: list[DispatchRecord] = Field(default_factory=list)


class OfferTerms(BaseModel):
    """What the customer gets, on which conditions and for how long: only catalogue terms."""

    customer_gets_zh: str
    customer_gets_en: str
    conditions_zh: list[str] = Field(default_factory=list)
    conditions_en: list[str] = Field(default_factory=list)
    validity_days: int | None = Field(
        None, description="Days the offer stays open: an operator setting in measures.yaml, not a seed figure."
    )
    prepay: float | None = Field(None, description="Yuan the customer prepays (not a cost).")
    contract_months: int = Field(0, ge=0, description="Months the customer commits to (0 = none).")
    placeholder: bool = Field(
        ..., description="Amounts are operator placeholders (tools/data/measures.yaml), not seed figures."
    )


class RecommendedOffer(Offer):
    """An `Offer` with what the drafts and scripts need: family, terms, cost breakdown, why per language."""

    family: str = Field(..., description="Offer family key in the measure catalogue.")
    tier: str = Field(..., description="The catalogue tier chosen within the caps.")
    total_cost: float = Field(..., ge=0, description="one_off_cost + monthly_cost x cost_months.")
    cost_months: int = Field(..., ge=0, description="Months the monthly cost runs.")
    value_months: int = Field(..., ge=1, description="Months of margin counted in expected_value.")
    uplift: float = Field(..., ge=0, le=1, description="Uplift used (after the >90% adjustment).")
    base_price_cut: bool = False
    playbook_rank: int | None = Field(None, description="Position in the scenario's playbook order.")
    terms: OfferTerms
    why_zh: list[str] = Field(default_factory=list)
    why_en: list[str] = Field(default_factory=list)


class ExcludedMeasure(BaseModel):
    """A candidate the engine dropped, and why (cap, no-repeat window, eligibility, low value...)."""

    measure_code: str
    family: str
    rule: str = Field(..., description="cap | no_repeat | eligibility | no_proactive_cost | "
                      "low_value | passive_churn | base_price_cut | max_offers | not_in_playbook")
    reason_zh: str
    reason_en: str


class OfferPlan(BaseModel):
    """Next-best offers for one subscriber: ordered alternatives within budget, with what was dropped."""

    scenario: Scenario
    scenario_zh: str
    scenario_en: str
    offers: list[RecommendedOffer] = Field(default_factory=list)
    excluded: list[ExcludedMeasure] = Field(default_factory=list)
    notes_zh: list[str] = Field(default_factory=list)
    notes_en: list[str] = Field(default_factory=list)
    value_tier: str
    risk_label: str
    churn_probability: float = Field(..., ge=0, le=1)
    customer_initiated: bool = False
    cap_monthly: float = Field(..., ge=0)
    cap_total: float = Field(..., ge=0)
    caps_rule: str
    spent_this_month: float = Field(0.0, ge=0)
    spent_total: float = Field(0.0, ge=0)
    remaining_monthly: float = Field(..., ge=0)
    remaining_total: float = Field(..., ge=0)
    horizon_months: int = Field(..., ge=1)
    citations_available: bool = True


# --- call scripts (tools/scripts.py) ----------------------------------------------------------

SectionName = Literal[
    "greeting", "verification", "empathy", "needs_probing", "offer_presentation",
    "objection_handling", "close", "follow_up_logging",
]


class ScriptSection(BaseModel):
    """One step of the call (domain.md 7.10): what to say, what to keep in mind, what it rests on."""

    name: SectionName
    title: str = Field(..., description="Heading in the script's language.")
    lines: list[str] = Field(default_factory=list, description="What the agent says.")
    notes: list[str] = Field(default_factory=list, description="For the agent only, never read out.")
    citations: list[Citation] = Field(default_factory=list)


class ObjectionResponse(BaseModel):
    """A likely objection (7.11), chosen by the subscriber's churn reasons, and how to answer it."""

    code: str
    objection: str
    response: str
    triggered_by: list[str] = Field(default_factory=list, description="Reason/signal codes, or the scenario.")
    citations: list[Citation] = Field(default_factory=list)


class CallScript(BaseModel):
    """`retention script`: a cited call script for one subscriber, one scenario, one language."""

    scenario: Scenario
    lang: Literal["zh", "en"]
    sections: list[ScriptSection]
    objections: list[ObjectionResponse] = Field(default_factory=list)
    offers: list[SerializeAsAny[Offer]] = Field(default_factory=list)
    do_not: list[str] = Field(default_factory=list, description="Forbidden promises and moves.")
