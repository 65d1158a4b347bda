"""The report spec: what a supervisor may ask for, as data (domain.md 8.1 metrics x 8.4 dimensions).

A spec names metrics and dimensions from closed vocabularies, filters with typed operators and literal
values, an explicit period, a sort and a limit. Field names are validated here, so an unknown metric,
dimension or filter field fails with the list of valid ones (a 422 in the API, exit 1 in the CLI).
Values never become SQL text: the engine binds them as parameters.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator


class Metric(str, Enum):
    """The KPIs a report can compute (definitions in METRIC_DEFINITIONS)."""

    churn_rate = "churn_rate"
    retention_success_rate = "retention_success_rate"
    renewal_rate = "renewal_rate"  # same-month renewal rate (当月续约率)
    renewal_rate_next_month = "renewal_rate_next_month"  # 次月续约率 (cumulative)
    renewal_rate_month_after = "renewal_rate_month_after"  # 次次月续约率 (cumulative)
    reach_rate = "reach_rate"
    silent_activation_rate = "silent_activation_rate"
    high_risk_count = "high_risk_count"
    mean_predicted_risk = "mean_predicted_risk"
    arpu = "arpu"
    retention_cost = "retention_cost"
    cost_per_retained = "cost_per_retained"
    subscribers = "subscribers"  # in-network subscribers in scope
    contacts = "contacts"  # retention contacts (outcome records) in the period
    training_score = "training_score"  # mean total score (0-100) of graded practice (role-play) sessions
    training_sessions = "training_sessions"  # graded practice sessions in the period


class Dimension(str, Enum):
    """What a report can group by (domain.md 8.4)."""

    value_tier = "value_tier"
    lifecycle_stage = "lifecycle_stage"
    risk_label = "risk_label"
    brand = "brand"
    plan = "plan"  # plan type
    tenure_band = "tenure_band"
    region = "region"
    channel = "channel"  # contact channel of the outcome (outbound call, SMS, store, app, ...)
    agent = "agent"
    month = "month"
    scenario = "scenario"  # retention scenario of the contact (renewal, routine, campus, silent, port_out, ...)
    trainee = "trainee"  # the API key id of whoever practised a role-play session


METRIC_DEFINITIONS: dict[Metric, dict[str, str]] = {
    Metric.churn_rate: {
        "en": "Subscribers who churned in the period / subscribers in network at the start of the period.",
        "zh": "客户流失率 = 统计期内流失客户数 / 期初在网客户数。",
    },
    Metric.retention_success_rate: {
        "en": "Contacts with result retained or renewed / contacts that reached the customer, in the period.",
        "zh": "挽留成功率 = 结果为挽留成功或续约的接触数 / 接通的接触数（统计期内）。",
    },
    Metric.renewal_rate: {
        "en": "Same-month renewal rate: contract-expiry targets renewed in the month they were dispatched / "
              "contract-expiry targets dispatched.",
        "zh": "当月续约率 = 当月续约客户数 / 当月到期派单目标客户数。",
    },
    Metric.renewal_rate_next_month: {
        "en": "Renewal rate by next month: targets renewed in the dispatch month or the next / targets.",
        "zh": "次月续约率 = （当月 + 次月）续约客户数 / 目标客户数。",
    },
    Metric.renewal_rate_month_after: {
        "en": "Renewal rate by the month after next: targets renewed within three months of dispatch / targets.",
        "zh": "次次月续约率 = （当月 + 次月 + 次次月）续约客户数 / 目标客户数。",
    },
    Metric.reach_rate: {
        "en": "Reach rate: dispatched subscribers actually reached (any result but no answer) / dispatched subscribers.",
        "zh": "到达率 = 接触到的客户数（结果不是未接通）/ 派单客户数。",
    },
    Metric.silent_activation_rate: {
        "en": "Silent activation rate: zero-voice (silent) subscribers dispatched in the period who call again "
              "(at least 20 minutes) in the month after the work order / those dispatched.",
        "zh": "沉默激活率 = 派单后次月恢复通话（不少于 20 分钟）的零通话（沉默）客户数 / 派单的沉默客户数。",
    },
    Metric.high_risk_count: {
        "en": "Number of in-network subscribers whose risk label is high.",
        "zh": "高危客户数 = 风险标签为高危的在网客户数。",
    },
    Metric.mean_predicted_risk: {
        "en": "Mean churn probability predicted by the churn model (or the rule score) over the subscribers in scope.",
        "zh": "平均预测流失概率 = 范围内客户的模型（或规则）流失概率的平均值。",
    },
    Metric.arpu: {
        "en": "Average revenue per user: mean monthly ARPU (yuan) of the subscribers in scope over the period's months.",
        "zh": "ARPU = 统计期各月范围内客户月均收入（元）的平均值。",
    },
    Metric.retention_cost: {
        "en": "Retention money spent (yuan): sum of the cost of the contacts in the period.",
        "zh": "维系成本 = 统计期内维系接触的成本合计（元）。",
    },
    Metric.cost_per_retained: {
        "en": "Retention cost in the period / contacts with result retained or renewed.",
        "zh": "单位挽留成本 = 统计期维系成本 / 挽留成功或续约的接触数。",
    },
    Metric.subscribers: {
        "en": "Number of subscribers in scope (in network at the start of the period).",
        "zh": "客户数 = 范围内（期初在网）客户数。",
    },
    Metric.contacts: {
        "en": "Number of retention contacts (logged outcomes) in the period.",
        "zh": "接触数 = 统计期内维系接触（结果记录）的数量。",
    },
    Metric.training_score: {
        "en": "Training score: mean total score (0-100, on the playbook rubric) of the practice (role-play) "
              "sessions graded in the period.",
        "zh": "训练得分 = 统计期内已评分的练习（角色扮演）会话按手册评分标准所得总分（0-100）的平均值。",
    },
    Metric.training_sessions: {
        "en": "Practice sessions: number of role-play sessions graded (finished) in the period.",
        "zh": "练习次数 = 统计期内完成并评分的角色扮演练习会话数。",
    },
}

DIMENSION_LABELS: dict[Dimension, dict[str, str]] = {
    Dimension.value_tier: {"en": "value tier", "zh": "价值等级"},
    Dimension.lifecycle_stage: {"en": "lifecycle stage", "zh": "生命周期阶段"},
    Dimension.risk_label: {"en": "risk label", "zh": "风险标签"},
    Dimension.brand: {"en": "brand", "zh": "品牌"},
    Dimension.plan: {"en": "plan type", "zh": "套餐类型"},
    Dimension.tenure_band: {"en": "tenure band", "zh": "网龄段"},
    Dimension.region: {"en": "region", "zh": "地区"},
    Dimension.channel: {"en": "contact channel", "zh": "接触渠道"},
    Dimension.agent: {"en": "agent", "zh": "坐席"},
    Dimension.month: {"en": "month", "zh": "月份"},
    Dimension.scenario: {"en": "scenario", "zh": "维系场景"},
    Dimension.trainee: {"en": "trainee", "zh": "学员"},
}

FilterOp = Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "between"]
Scalar = str | int | float | bool


class Filter(BaseModel):
    """One condition on a dimension: `value_tier in [high, medium]`, `month ge 2026-07`."""

    field: Dimension
    op: FilterOp = "eq"
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _shape(self) -> Filter:
        many = isinstance(self.value, list)
        if self.op in ("in", "not_in") and not many:
            self.value = [self.value]
        elif self.op == "between" and (not many or len(self.value) != 2):
            raise ValueError("op 'between' needs a list of exactly two values [low, high]")
        elif self.op not in ("in", "not_in", "between") and many:
            raise ValueError(f"op {self.op!r} needs one value, not a list")
        if many and not self.value:
            raise ValueError(f"op {self.op!r} needs at least one value")
        return self


class Period(BaseModel):
    """An explicit date range, both ends inclusive, and how the user said it (上季度, last 3 months)."""

    start: dt.date
    end: dt.date
    label: str = ""

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before its start {self.start}")
        return self


class Sort(BaseModel):
    """Sort by a metric or a dimension of the spec."""

    by: str
    desc: bool = True


Compare = Literal["previous_period", "previous_year"]
COMPARE_SUFFIXES = ("_previous", "_change")  # the derived columns of a comparison: <metric>_previous, <metric>_change
COMPARE_DEFINITIONS: dict[str, dict[str, str]] = {
    "previous_period": {
        "en": "Compared with the previous period of the same length (a month with the month before, a quarter "
              "with the quarter before, any other range with the same number of days just before it). "
              "<metric>_previous is the value in that period; change = this period minus the previous period "
              "(for rates, in the same 0-1 units: percentage points as a fraction). A group found in one period "
              "only has no value (empty) for the other and no change.",
        "zh": "环比：与紧邻的上一个等长期间比较（月比上月，季度比上季度，其他日期范围比前面相同天数）。"
              "<指标>_previous 为上一期间的值；变化 = 本期 - 上期（比率类指标仍以0到1的小数表示，即百分点/100）。"
              "只在一个期间出现的分组，另一期间的值和变化为空。",
    },
    "previous_year": {
        "en": "Compared with the same dates one year earlier (year over year). <metric>_previous is the value "
              "then; change = this period minus the same period last year (for rates, in the same 0-1 units: "
              "percentage points as a fraction). A group found in one period only has no value (empty) for the "
              "other and no change.",
        "zh": "同比：与去年同期（日期提前一年）比较。<指标>_previous 为去年同期的值；变化 = 本期 - 去年同期"
              "（比率类指标仍以0到1的小数表示，即百分点/100）。只在一个期间出现的分组，另一期间的值和变化为空。",
    },
}


def metric_of(column: str) -> Metric | None:
    """The metric a result column shows: `renewal_rate`, `renewal_rate_previous` and `renewal_rate_change` all
    give renewal_rate; a dimension or anything else gives None."""
    for suffix in ("", *COMPARE_SUFFIXES):
        if suffix and not column.endswith(suffix):
            continue
        name = column[: len(column) - len(suffix)] if suffix else column
        if name in Metric.__members__:
            return Metric(name)
    return None


class ReportSpec(BaseModel):
    """A report: metrics by dimensions, filtered, over a period, sorted and limited; optionally compared with
    the previous period or the same period a year earlier (`compare`)."""

    metrics: list[Metric] = Field(..., min_length=1, max_length=6)
    dimensions: list[Dimension] = Field(default_factory=list, max_length=3)
    filters: list[Filter] = Field(default_factory=list, max_length=10)
    period: Period | None = None  # None: the latest complete month of the data
    sort: Sort | None = None
    limit: int | None = Field(None, ge=1, le=10_000)
    lang: Literal["zh", "en"] = "en"
    # previous_period: the same-length period just before; previous_year: the same dates a year earlier
    compare: Compare | None = None

    model_config = {"extra": "forbid"}

    @field_validator("metrics", "dimensions")
    @classmethod
    def _unique(cls, values: list[Any]) -> list[Any]:
        return list(dict.fromkeys(values))

    @model_validator(mode="after")
    def _sort_field(self) -> ReportSpec:
        if self.compare is not None and (Dimension.month in self.dimensions
                                         or any(f.field == Dimension.month for f in self.filters)):
            raise ValueError(f"compare {self.compare!r} compares the whole period with an earlier one, so it cannot "
                             "be split or filtered by month; drop the month dimension (or filter) and set the period "
                             "instead, or drop compare to see the months side by side")
        if self.sort is not None:
            allowed = [m.value for m in self.metrics] + [d.value for d in self.dimensions]
            if self.compare is not None:
                allowed += [m.value + suffix for suffix in COMPARE_SUFFIXES for m in self.metrics]
            if self.sort.by not in allowed:
                raise ValueError(f"sort.by {self.sort.by!r} is not a metric or dimension of this spec; "
                                 f"expected one of {allowed}")
        return self


class ChartSpec(BaseModel):
    """A chart the web page draws (and matplotlib renders to PNG): kind chosen from the result's shape."""

    kind: Literal["bar", "line", "stacked_bar", "grouped_bar", "table"]  # grouped_bar: this period vs the previous
    x: str | None = None  # the dimension on the x axis
    series: str | None = None  # the second dimension, one series per value
    y: list[str] = Field(default_factory=list)  # metrics
    title: str = ""
    data: list[dict[str, Any]] = Field(default_factory=list)
    compare: Compare | None = None  # grouped_bar: each metric's `<metric>_previous` is drawn beside it
    periods: list[str] = Field(default_factory=list)  # grouped_bar: [this period, the previous one] as labels


class ChartOut(BaseModel):
    """The chart of a result: the JSON spec, and the PNG as a file path (CLI) or base64 (API)."""

    spec: ChartSpec
    png_path: str | None = None
    png_base64: str | None = None


class ReportResult(BaseModel):
    """What `retention report --json` prints and `POST /v1/reports` returns."""

    spec: ReportSpec
    columns: list[str]
    rows: list[list[Any]]
    definitions: dict[str, str]  # metric -> definition in the spec's language
    chart: ChartOut | None = None
    question: str | None = None
    interpretation: str = ""  # the spec in plain words, for the supervisor to check
    as_of: dt.date | None = None  # the data's reference date the period was resolved against
    sql: str | None = None  # the parameterised SQL (placeholders only, never values)
    parser: Literal["offline", "llm", "spec"] = "spec"
    notes: list[str] = Field(default_factory=list)  # assumptions made reading the question (nl parser)
    unknown: list[str] = Field(default_factory=list)  # parts of the question that were not understood
    period: Period | None = None  # the period the report covered (resolved when the spec named none)
    previous_period: Period | None = None  # with spec.compare: the period it was compared with


def valid_fields() -> dict[str, list[str]]:
    """The closed vocabularies, for error messages and the API's 422 body."""
    return {
        "metrics": [m.value for m in Metric],
        "dimensions": [d.value for d in Dimension],
        "filter_ops": list(FilterOp.__args__),  # type: ignore[attr-defined]
    }
