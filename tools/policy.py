"""The operator policy: every threshold of the playbook rules, read from a YAML file.

The shipped default is `tools/data/policy.yaml`; an operator file is merged over it, so it only
needs the keys it changes. Every key is required after the merge and unknown keys are refused, so
a typo or a wrong type is a `PolicyError` that names the key instead of a silently ignored value.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools.errors import PolicyError

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "data" / "policy.yaml"

SignalCode = Literal[
    "arpu_drop",
    "mou_drop",
    "distinct_called_drop",
    "called_ratio_rise",
    "silent",
    "forwarding",
    "competitor_hotline",
    "complaints",
    "contract_expiry",
    "arrears",
    "points_unredeemed",
]
TierCode = Literal["high", "medium", "low"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LifecyclePolicy(_Strict):
    """Thresholds of the five-state lifecycle table (domain.md 1.1)."""

    identification_max_tenure_months: float = Field(ge=0)
    growth_max_tenure_months: float = Field(ge=0)
    warning_min_tenure_months: float = Field(ge=0)
    warning_signals: tuple[SignalCode, ...]
    sunk_min_silent_days: int = Field(ge=1)
    sunk_max_mou_change_pct: float = Field(ge=-100, le=0)
    sunk_max_arpu_change_pct: float = Field(ge=-100, le=0)
    sunk_max_arpu: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> LifecyclePolicy:
        if self.identification_max_tenure_months > self.growth_max_tenure_months:
            raise ValueError(
                "identification_max_tenure_months must not exceed growth_max_tenure_months"
            )
        return self


class ValueTierPolicy(_Strict):
    """Thresholds of the value tiers (domain.md 2.1)."""

    high_min_arpu_multiple: float = Field(gt=0)
    medium_min_arpu_multiple: float = Field(ge=0)
    high_max_spend_rank_pct: float = Field(ge=0, le=100)
    medium_max_spend_rank_pct: float = Field(ge=0, le=100)
    spend_rank_combine: Literal["higher", "lower", "arpu_only"]
    prepaid_default_tier: TierCode
    group_min_lines: int = Field(ge=1)
    group_min_arpu_multiple: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ValueTierPolicy:
        if self.medium_min_arpu_multiple > self.high_min_arpu_multiple:
            raise ValueError("medium_min_arpu_multiple must not exceed high_min_arpu_multiple")
        if self.high_max_spend_rank_pct > self.medium_max_spend_rank_pct:
            raise ValueError("high_max_spend_rank_pct must not exceed medium_max_spend_rank_pct")
        return self


class CostCapPolicy(_Strict):
    """Retention-cost caps per value tier (domain.md 3.1)."""

    monthly_cap_arpu_ratio: float = Field(ge=0, le=1)
    group_monthly_cap_arpu_ratio: float = Field(ge=0, le=1)
    high_total_acpu_multiple: float = Field(ge=0)
    medium_total_acpu_multiple: float = Field(ge=0)
    group_total_acpu_multiple: float = Field(ge=0)


class DropSignal(_Strict):
    """A month-on-month fall of at least `min_drop_pct` percent."""

    min_drop_pct: float = Field(gt=0, le=100)
    weight: float = Field(ge=0)


class RiseSignal(_Strict):
    """A month-on-month rise of at least `min_rise_pct` percent."""

    min_rise_pct: float = Field(gt=0)
    weight: float = Field(ge=0)


class SilentSignal(_Strict):
    """Days without a call; a shorter trigger for mid/high-value subscribers (6.1, 6.5)."""

    min_days: int = Field(ge=1)
    min_days_mid_high_value: int = Field(ge=1)
    weight: float = Field(ge=0)


class ForwardingSignal(_Strict):
    """Forwarded-call share above `min_share_pct`, or forwards to off-net numbers (6.1, 1.1)."""

    min_share_pct: float = Field(ge=0, le=100)
    min_forwards_to_competitor: int = Field(ge=1)
    weight: float = Field(ge=0)


class CountSignal(_Strict):
    """A count reaching `min_calls`."""

    min_calls: int = Field(ge=1)
    weight: float = Field(ge=0)


class ComplaintSignal(_Strict):
    """Complaints in the last 90 days reaching `min_count_90d`."""

    min_count_90d: int = Field(ge=1)
    weight: float = Field(ge=0)


class ContractSignal(_Strict):
    """Contract close to its end, recently expired, or its committed amount nearly used (1.1)."""

    max_days_left: int = Field(ge=0)
    expired_grace_days: int = Field(ge=0)
    max_remaining_amount_pct: float = Field(ge=0, le=100)
    weight: float = Field(ge=0)


class ArrearsSignal(_Strict):
    """Arrears; from `passive_churn_days` on the subscriber is a passive churner (5.4)."""

    min_days: int = Field(ge=1)
    passive_churn_days: int = Field(ge=1)
    weight: float = Field(ge=0)
    passive_churn_weight: float = Field(ge=0)


class PointsSignal(_Strict):
    """Unredeemed loyalty points at or above `min_balance`; `None` switches the signal off."""

    min_balance: float | None = Field(ge=0)
    weight: float = Field(ge=0)


class SignalPolicy(_Strict):
    """Thresholds and rule-score weights of the early-warning signals (domain.md 6.1)."""

    arpu_drop: DropSignal
    mou_drop: DropSignal
    distinct_called_drop: DropSignal
    called_ratio_rise: RiseSignal
    silent: SilentSignal
    forwarding: ForwardingSignal
    competitor_hotline: CountSignal
    complaints: ComplaintSignal
    contract_expiry: ContractSignal
    arrears: ArrearsSignal
    points_unredeemed: PointsSignal


class RiskPolicy(_Strict):
    """How the rule score and the risk labels are derived (domain.md 1.4, 12 item 35)."""

    base_log_odds: float
    medium_min_probability: float = Field(gt=0, lt=1)
    high_min_probability: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> RiskPolicy:
        if self.medium_min_probability > self.high_min_probability:
            raise ValueError("medium_min_probability must not exceed high_min_probability")
        return self


class RenewalLeadPolicy(_Strict):
    """How many days before contract end the renewal scenario starts, by segment (7.1, 12 item 23)."""

    high_at_risk: int = Field(ge=0)
    medium_at_risk: int = Field(ge=0)
    other: int = Field(ge=0)
    customer_initiated: int = Field(ge=0)


class UsagePatternPolicy(_Strict):
    """Thresholds of the 7.1 behaviour distinction: heavy voice / light data and the reverse."""

    heavy_voice_min_mou: float = Field(ge=0)
    light_data_max_mb: float = Field(ge=0)
    light_voice_max_mou: float = Field(ge=0)
    heavy_data_min_mb: float = Field(ge=0)


class NoRepeatPolicy(_Strict):
    """No-repeat windows for dispatches, in months (6.5)."""

    renewal: int = Field(ge=0)
    high_risk: int = Field(ge=0)
    medium_risk: int = Field(ge=0)
    revenue_drop: int = Field(ge=0)
    revenue_drop_min_pct: float = Field(gt=0, le=100)
    zero_voice: int = Field(ge=0)
    collection: int = Field(ge=0)
    default: int = Field(ge=0)


class WalkInCaps(_Strict):
    """Budget for a low-value customer who comes in and asks (3.2: 存费送费 only then)."""

    monthly: float = Field(ge=0)
    total: float = Field(ge=0)


class OfferPolicy(_Strict):
    """Next-best-offer engine settings (tools/offers.py); uplifts are per family in measures.yaml."""

    margin_ratio: float = Field(gt=0, le=1)
    horizon_months: int = Field(ge=1, le=120)
    max_offers: int = Field(ge=1, le=10)
    citations_per_query: int = Field(ge=1, le=5)
    min_expected_value: float
    lost_cause_min_probability: float = Field(gt=0, le=1)
    lost_cause_uplift_factor: float = Field(ge=0, le=1)
    renewal_lead_days: RenewalLeadPolicy
    long_tenure_months: float = Field(ge=0)
    short_tenure_months: float = Field(ge=0)
    usage: UsagePatternPolicy
    no_repeat_months: NoRepeatPolicy
    walk_in_caps_low_value: WalkInCaps


class Policy(_Strict):
    """The whole operator policy file."""

    version: Literal[1]
    acpu: float = Field(gt=0, description="Average acquisition cost per user (yuan).")
    lifecycle: LifecyclePolicy
    value_tier: ValueTierPolicy
    cost_caps: CostCapPolicy
    signals: SignalPolicy
    risk: RiskPolicy
    offers: OfferPolicy


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # imported lazily: nothing heavy at import time

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise PolicyError(f"policy file {path} must be a mapping of keys, not a {kind}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` onto `base`: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def describe_errors(exc: ValidationError, reference: str = "tools/data/policy.yaml") -> str:
    """One line naming every offending key of an operator file, with what is wrong."""
    parts = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "missing value" if error["type"] == "missing" else error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown key (check the spelling against {reference})"
        parts.append(f"{key}: {message}" if error["loc"] else message.removeprefix("Value error, "))
    return "; ".join(parts)


@lru_cache(maxsize=32)
def _load(path: str, stamp: tuple[int, ...]) -> Policy:
    data = _read_yaml(DEFAULT_POLICY_PATH)
    source = Path(path)
    if source != DEFAULT_POLICY_PATH:
        data = deep_merge(data, _read_yaml(source))
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"policy file {source}: {describe_errors(exc)}") from None


def load_policy(path: Path | None = None) -> Policy:
    """Load the shipped policy, or an operator file merged over it; cached per path and mtime."""
    source = DEFAULT_POLICY_PATH if path is None else Path(path).expanduser().resolve()
    stamp: tuple[int, ...] = ()
    for file in (source, DEFAULT_POLICY_PATH):
        try:
            stat = file.stat()
        except FileNotFoundError:
            raise PolicyError(f"policy file not found: {file}") from None
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {file}: {exc}") from None
        stamp += (stat.st_mtime_ns, stat.st_size)
    # Modification times are part of the cache key, so an edited file is read again.
    return _load(str(source), stamp)
