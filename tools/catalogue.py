"""The measure catalogue: coded retention measures (domain.md 4.1) and concrete offer families (7.1-7.5).

The shipped catalogue is `tools/data/measures.yaml`. An operator file is merged over it key by
key (lists such as `tiers` are replaced whole), so it only needs what it changes: costs, uplifts,
terms. Unknown keys, wrong types and broken references are a `PolicyError` naming the entry and key.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools.errors import PolicyError
from tools.policy import deep_merge, describe_errors
from tools.schemas import HandsetGen, PaymentType, Scenario

DEFAULT_CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "measures.yaml"

Stage = Literal["prevention", "maintenance", "win_back"]
MeasureType = Literal["marketing", "service", "management"]
Topic = Literal[
    "lifecycle", "value-tiers", "cost-caps", "measures", "churn-reasons", "warning-signals", "kpi",
    "renewal", "routine", "campus", "silent", "port-out", "call-structure", "objections",
]
TierCode = Literal["high", "medium", "low", "group"]
LifecycleCode = Literal["identification", "growth", "stable", "warning", "sunk"]
RiskCode = Literal["stable", "low", "medium", "high", "churned"]
UsagePattern = Literal["heavy_voice_light_data", "light_voice_heavy_data"]

# Every coded measure of domain.md 4.1 must be in the catalogue.
REQUIRED_CODES: tuple[str, ...] = (
    *(f"PM00{i}" for i in range(1, 4)), *(f"PS00{i}" for i in range(1, 5)),
    *(f"PA00{i}" for i in range(1, 6)), *(f"RM00{i}" for i in range(1, 6)),
    *(f"RS00{i}" for i in range(1, 6)), *(f"RA00{i}" for i in range(1, 6)),
    *(f"DM00{i}" for i in range(1, 5)), *(f"DS00{i}" for i in range(1, 4)),
    *(f"DA00{i}" for i in range(1, 5)),
)
_CODE = re.compile(r"^([PRD])([MSA])\d{3}$")
_STAGE_LETTER = {"P": "prevention", "R": "maintenance", "D": "win_back"}
_TYPE_LETTER = {"M": "marketing", "S": "service", "A": "management"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    """Who a measure or family applies to; an empty list means "any". Unknown facts never match a
    condition that requires them (handset, plan, usage), except `not_handset_gens`."""

    scenarios: tuple[Scenario, ...] = ()
    value_tiers: tuple[TierCode, ...] = ()
    lifecycle_stages: tuple[LifecycleCode, ...] = ()
    risk_labels: tuple[RiskCode, ...] = ()
    triggers_any: tuple[str, ...] = Field((), description="Signal or churn-reason codes; one must fire.")
    min_tenure_months: float | None = Field(None, ge=0)
    max_tenure_months: float | None = Field(None, ge=0)
    handset_gens: tuple[HandsetGen, ...] = Field((), description="Known handset in this list (or asked for).")
    not_handset_gens: tuple[HandsetGen, ...] = ()
    plan_types: tuple[Literal["single", "converged"], ...] = ()
    payment_types: tuple[PaymentType, ...] = ()
    usage_pattern: UsagePattern | None = None
    student: bool | None = None
    requires_points: bool = False
    requires_arrears: bool = False
    customer_initiated_only: bool = False


class CostTier(_Strict):
    """One concrete version of an offer: what it costs the operator and what the customer gets."""

    name: str
    one_off: float = Field(0.0, ge=0, description="One-off cost to the operator (yuan).")
    monthly: float = Field(0.0, ge=0, description="Monthly cost to the operator (yuan).")
    months: int = Field(0, ge=0, description="Months the monthly cost runs.")
    contract_months: int = Field(0, ge=0, description="Months the customer commits to.")
    prepay: float | None = Field(None, ge=0, description="Yuan the customer prepays (not a cost).")
    min_tenure_months: float | None = Field(None, ge=0)
    max_tenure_months: float | None = Field(None, ge=0)
    validity_days: int | None = Field(None, ge=1)
    gets_zh: str
    gets_en: str
    conditions_zh: tuple[str, ...] = ()
    conditions_en: tuple[str, ...] = ()
    source: Literal["domain", "placeholder"]

    @model_validator(mode="after")
    def _consistent(self) -> CostTier:
        if self.monthly > 0 and self.months == 0:
            raise ValueError("a monthly cost needs `months` (how many months it runs)")
        if len(self.conditions_zh) != len(self.conditions_en):
            raise ValueError("conditions_zh and conditions_en must have the same number of lines")
        return self

    @property
    def total_cost(self) -> float:
        """one_off + monthly x months (yuan)."""
        return round(self.one_off + self.monthly * self.months, 2)


class Measure(_Strict):
    """A coded measure of the 4.1 stage x type matrix."""

    stage: Stage
    type: MeasureType
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    customer_offer: bool = Field(..., description="False: internal management, never offered.")
    derived: bool = Field(False, description="Description read from the name only ([Derived], 4.1).")
    topic: Topic
    citation_query: str = Field(..., min_length=2)
    eligibility: Eligibility = Eligibility()
    one_off_cost: float = Field(0.0, ge=0, description="Default when a family gives no tiers.")
    monthly_cost: float = Field(0.0, ge=0)


class OfferFamily(_Strict):
    """A concrete offer of the playbooks (存费送费, 话补续约...), mapped to its measure code."""

    measure_code: str
    measure_code_by_stage: dict[Stage, str] = Field(
        default_factory=dict, description="Code by the subscriber's lifecycle work stage (4.1)."
    )
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    topic: Topic
    citation_query: str = Field(..., min_length=2)
    uplift: float = Field(..., ge=0, le=1, description="Share of would-be churners kept [placeholder].")
    base_price_cut: bool = False
    walk_in_ok: bool = Field(False, description="Offered to a low-value customer who comes in (3.2).")
    eligibility: Eligibility
    tiers: tuple[CostTier, ...] = Field(..., min_length=1)

    @property
    def costs_money(self) -> bool:
        """True when any tier costs the operator something."""
        return any(t.total_cost > 0 for t in self.tiers)


class Catalogue(_Strict):
    """The whole measure catalogue file."""

    version: Literal[1]
    measures: dict[str, Measure]
    families: dict[str, OfferFamily]

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        problems = []
        for code, m in self.measures.items():
            match = _CODE.match(code)
            if not match:
                problems.append(f"measures.{code}: code must look like RM001 (stage P/R/D, type M/S/A)")
            elif (_STAGE_LETTER[match[1]], _TYPE_LETTER[match[2]]) != (m.stage, m.type):
                problems.append(f"measures.{code}: stage/type {m.stage}/{m.type} contradict the code")
        missing = [c for c in REQUIRED_CODES if c not in self.measures]
        if missing:
            problems.append(f"measures: missing codes {', '.join(missing)}")
        for key, f in self.families.items():
            for where, code in [("measure_code", f.measure_code),
                                *((f"measure_code_by_stage.{s}", c) for s, c in f.measure_code_by_stage.items())]:
                if code not in self.measures:
                    problems.append(f"families.{key}.{where}: unknown measure code {code}")
                elif not self.measures[code].customer_offer:
                    problems.append(f"families.{key}.{where}: {code} is not a customer offer")
            if not f.eligibility.scenarios:
                problems.append(f"families.{key}.eligibility.scenarios: give at least one scenario")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def family_code(self, family: str, stage: Stage) -> str:
        """The measure code of `family` for a subscriber in this work stage."""
        f = self.families[family]
        return f.measure_code_by_stage.get(stage, f.measure_code)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # lazily: nothing heavy at import time

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"measure catalogue not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read measure catalogue {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"measure catalogue {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"measure catalogue {path} must be a mapping, not a {type(data).__name__}")
    return data


@lru_cache(maxsize=16)
def _load(path: str, stamp: tuple[int, ...]) -> Catalogue:
    data = _read_yaml(DEFAULT_CATALOGUE_PATH)
    source = Path(path)
    if source != DEFAULT_CATALOGUE_PATH:
        data = deep_merge(data, _read_yaml(source))
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"measure catalogue {source}: {describe_errors(exc, 'tools/data/measures.yaml')}") from None


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load the shipped catalogue, or an operator file merged over it; cached per path and mtime."""
    source = DEFAULT_CATALOGUE_PATH if path is None else Path(path).expanduser().resolve()
    stamp: tuple[int, ...] = ()
    for file in dict.fromkeys((source, DEFAULT_CATALOGUE_PATH)):
        try:
            st = file.stat()
        except OSError as exc:
            raise PolicyError(f"measure catalogue not found or unreadable: {file} ({exc.strerror})") from None
        stamp += (st.st_mtime_ns, st.st_size)
    return _load(str(source), stamp)
