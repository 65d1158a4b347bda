"""ReportEngine: run a `ReportSpec` against the subscriber store, its history, the outcome log and the
graded practice sessions.

    engine = ReportEngine(store, outcome_log=log, scores_path=data_dir / "scores.parquet", training_log=sessions)
    result = engine.run(ReportSpec(metrics=["churn_rate", "arpu"], dimensions=["value_tier", "month"]))

The spec is compiled to one parameterised DuckDB query (`tools.reports.sql`) over tables loaded once
per data version (`tools.reports.data`). Rates are fractions between 0 and 1 with 4 decimals, money
is in yuan with 2 decimals, training scores are 0-100 with 1 decimal, counts are integers. A period not
given is the latest complete month of the data, except for a spec of practice-session metrics only,
which then covers every graded session (practice happens on the wall clock, not the data's months);
relative periods are resolved by the caller against `as_of()`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from tools.errors import InvalidInput
from tools.reports.compare import COMPARE_NAMES, previous_period
from tools.reports.data import ReportData
from tools.reports.spec import (
    COMPARE_DEFINITIONS,
    DIMENSION_LABELS,
    METRIC_DEFINITIONS,
    Dimension,
    Metric,
    Period,
    ReportResult,
    ReportSpec,
    valid_fields,
)
from tools.reports.sql import FAMILY_OF, compile_comparison, compile_spec, valid_combinations

log = logging.getLogger(__name__)

METRIC_NAMES: dict[Metric, tuple[str, str]] = {
    Metric.churn_rate: ("流失率", "churn rate"),
    Metric.retention_success_rate: ("挽留成功率", "retention success rate"),
    Metric.renewal_rate: ("当月续约率", "same-month renewal rate"),
    Metric.renewal_rate_next_month: ("次月续约率", "renewal rate by next month"),
    Metric.renewal_rate_month_after: ("次次月续约率", "renewal rate by the month after next"),
    Metric.reach_rate: ("到达率", "reach rate"),
    Metric.silent_activation_rate: ("沉默激活率", "silent activation rate"),
    Metric.high_risk_count: ("高危客户数", "high-risk subscribers"),
    Metric.mean_predicted_risk: ("平均预测流失概率", "mean predicted churn risk"),
    Metric.arpu: ("ARPU", "ARPU"),
    Metric.retention_cost: ("维系成本", "retention cost"),
    Metric.cost_per_retained: ("单位挽留成本", "cost per retained subscriber"),
    Metric.subscribers: ("客户数", "subscribers"),
    Metric.contacts: ("接触数", "contacts"),
    Metric.training_score: ("训练得分", "training score"),
    Metric.training_sessions: ("练习次数", "practice sessions"),
}
RATES = {Metric.churn_rate, Metric.retention_success_rate, Metric.renewal_rate, Metric.renewal_rate_next_month,
         Metric.renewal_rate_month_after, Metric.reach_rate, Metric.silent_activation_rate,
         Metric.mean_predicted_risk}
MONEY = {Metric.arpu, Metric.retention_cost, Metric.cost_per_retained}
SCORES = {Metric.training_score}
UNITS = {"score": {"en": " A score from 0 to 100 (1 decimal).", "zh": "（0到100分，保留1位小数）"},
         "rate": {"en": " Shown as a fraction from 0 to 1 (4 decimals).", "zh": "（以0到1之间的小数表示，保留4位）"},
         "money": {"en": " In yuan (2 decimals).", "zh": "（单位：元，保留2位小数）"},
         "count": {"en": " A whole number.", "zh": "（整数）"}}


def definition(metric: Metric, lang: str) -> str:
    """The metric's documented definition with its unit and rounding."""
    kind = "rate" if metric in RATES else "money" if metric in MONEY else "score" if metric in SCORES else "count"
    return METRIC_DEFINITIONS[metric][lang] + UNITS[kind][lang]
_OP_WORDS = {"eq": "=", "ne": "≠", "in": "in", "not_in": "not in", "gt": ">", "ge": "≥", "lt": "<", "le": "≤",
             "between": "between"}


def load_spec(data: Any) -> ReportSpec:
    """Validate a spec given as a dict (a file, a request body): unknown fields name the valid ones."""
    try:
        return ReportSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors())
        fields = valid_fields()
        raise InvalidInput(f"invalid report spec: {problems}. Valid metrics: {', '.join(fields['metrics'])}; "
                           f"valid dimensions: {', '.join(fields['dimensions'])}; "
                           f"filter ops: {', '.join(fields['filter_ops'])}") from None


def latest_complete_month(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The last month that has ended on or before `as_of`."""
    nxt = as_of + dt.timedelta(days=1)
    end = as_of if nxt.month != as_of.month else as_of.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


class ReportEngine:
    """Supervisor reports over a `SubscriberStore` (+ an optional `OutcomeLog`, scores file and
    role-play session store, `training_log`: anything with `frame()` and `version()` like
    `tools.training.sessions.RoleplayStore`)."""

    def __init__(self, store: Any, *, outcome_log: Any = None, scores_path: Path | str | None = None,
                 policy: Any = None, threads: int | None = None, training_log: Any = None):
        self.store = store
        self.data = ReportData(store, outcome_log, Path(scores_path) if scores_path else None, policy, threads,
                               training_log=training_log)

    def as_of(self) -> dt.date:
        """The data's reference date: the end of the latest usage month (else the snapshot date)."""
        self.data.connection()
        assert self.data.as_of is not None
        return self.data.as_of

    def dimension_values(self, dim: Dimension | str, limit: int = 200) -> list[str]:
        """Distinct values of a dimension in the data (regions, brands, agents, months...), sorted."""
        try:
            dim = Dimension(dim)
        except ValueError:
            raise InvalidInput(f"unknown dimension {dim!r}; expected one of "
                               f"{', '.join(d.value for d in Dimension)}") from None
        db = self.data.connection()
        column = {Dimension.plan: "plan", Dimension.agent: "agent_id"}.get(dim, dim.value)
        if dim == Dimension.trainee:
            sources = ["training_k"]
        elif dim in (Dimension.channel, Dimension.agent, Dimension.scenario, Dimension.month):
            sources = ["contacts", "dispatch_k"] + (["usage_k"] if dim == Dimension.month else [])
            sources += ["training_k"] if dim in (Dimension.scenario, Dimension.month) else []
        else:
            sources = ["pop"]
        union = " UNION ".join(f"SELECT DISTINCT {column} AS v FROM {s}" for s in sources)
        rows = db.cursor().execute(f"SELECT v FROM ({union}) WHERE v IS NOT NULL ORDER BY v LIMIT ?",
                                   [int(limit)]).fetchall()
        values = [str(r[0]) for r in rows]
        if dim == Dimension.scenario:
            from tools.schemas import Scenario

            values = sorted(set(values) | set(get_args(Scenario)))[:limit]
        elif dim == Dimension.channel:
            from tools.subscriber_schema import CONTACT_CHANNELS

            values = sorted(set(values) | set(CONTACT_CHANNELS))[:limit]
        return values

    def run(self, spec: ReportSpec) -> ReportResult:
        """Compute the report: columns = dimensions + metrics, rows sorted and limited, with definitions.

        With `spec.compare` each metric comes as `<metric>`, `<metric>_previous`, `<metric>_change` (this
        period minus the comparison period, in the metric's units), groups joined on the dimension values."""
        started = time.perf_counter()
        db = self.data.connection()
        as_of = self.data.as_of or dt.date.today()
        if spec.period is not None:
            start, end = spec.period.start, spec.period.end
        elif training_only(spec) and (sessions := self.data.training_range()) is not None:
            start, end = sessions  # every graded practice session
        else:
            start, end = latest_complete_month(as_of)
        before = previous_period(start, end, spec.compare, spec.lang) if spec.compare else None
        if before is not None:
            compiled = compile_comparison(spec, (start, end), (before.start, before.end), as_of)
        else:
            compiled = compile_spec(spec, start, end, as_of)
        cursor = db.cursor()
        try:
            rows = cursor.execute(compiled.sql, compiled.params).fetchall()
        finally:
            cursor.close()
        lang = spec.lang
        definitions = {m.value: definition(m, lang) for m in spec.metrics}
        if spec.compare:
            definitions["comparison"] = COMPARE_DEFINITIONS[spec.compare][lang]
        log.info("report %s by %s%s: %d rows in %.3fs", [m.value for m in spec.metrics],
                 [d.value for d in spec.dimensions], f" ({spec.compare})" if spec.compare else "", len(rows),
                 time.perf_counter() - started)
        label = spec.period.label if spec.period is not None else ""
        notes = []
        first = self.data.first_month() if before is not None and not training_only(spec) else None
        if first is not None and before is not None and before.start < first:
            notes.append(f"对比期间 {before.start} – {before.end} 早于数据的历史起点（{first:%Y-%m}），"
                         "其数值可能为空或为0" if lang == "zh" else
                         f"the comparison period {before.start} – {before.end} starts before the data's history "
                         f"({first:%Y-%m}); its values may be missing or zero")
        return ReportResult(spec=spec, columns=compiled.columns, rows=[[_plain(v) for v in r] for r in rows],
                            definitions=definitions, interpretation=interpret(spec, start, end, before),
                            as_of=as_of, sql=compiled.sql, period=Period(start=start, end=end, label=label),
                            previous_period=before, notes=notes)


def training_only(spec: ReportSpec) -> bool:
    """Whether every metric of the spec is about practice sessions (their default period is all of them)."""
    return all(FAMILY_OF[m].name == "training" for m in spec.metrics)


def _plain(value: Any) -> Any:
    """JSON-friendly cell: NaN becomes None, numpy and decimals become Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if not isinstance(value, (int, float, str, bool)):
        return float(value) if hasattr(value, "__float__") else str(value)
    return value


def interpret(spec: ReportSpec, start: dt.date, end: dt.date, previous: Period | None = None) -> str:
    """The spec in one line of plain words, for the supervisor to check what was understood (with a
    comparison, both periods)."""
    zh = spec.lang == "zh"
    metrics = ("、" if zh else ", ").join(METRIC_NAMES[m][0 if zh else 1] for m in spec.metrics)
    from tools.reports.charts import column_label

    dims = [DIMENSION_LABELS[d][spec.lang] for d in spec.dimensions]
    conds = []
    for f in spec.filters:
        value = f.value if not isinstance(f.value, list) else "[" + ", ".join(map(str, f.value)) + "]"
        conds.append(f"{DIMENSION_LABELS[f.field][spec.lang]} {_OP_WORDS[f.op]} {value}")
    label = spec.period.label if spec.period is not None and spec.period.label else ""
    when = f"{start.isoformat()} – {end.isoformat()}" + (f" ({label})" if label else "")
    if previous is not None and spec.compare:
        name = COMPARE_NAMES[spec.compare][0 if zh else 1]
        span = f"{previous.start.isoformat()} – {previous.end.isoformat()}"
        then = ("上期" if zh else "the previous period") if spec.compare == "previous_period" else \
            ("去年同期" if zh else "the same period last year")
        when += f"，{name}（{span}），变化 = 本期 - {then}" if zh else \
            f", {name} ({span}); change = this period minus {then}"
    if zh:
        text = f"{when}，{metrics}" + (f"，按{'、'.join(dims)}" if dims else "")
        text += f"，条件：{'；'.join(conds)}" if conds else ""
        if spec.sort:
            text += f"，按{column_label(spec.sort.by, 'zh')}{'降序' if spec.sort.desc else '升序'}"
        return text + (f"，前{spec.limit}条" if spec.limit else "")
    text = metrics + (f" by {' and '.join(dims)}" if dims else "") + f", {when}"
    text += f", where {'; '.join(conds)}" if conds else ""
    if spec.sort:
        text += f", sorted by {column_label(spec.sort.by, 'en')} {'descending' if spec.sort.desc else 'ascending'}"
    return text + (f", top {spec.limit}" if spec.limit else "")


__all__ = ["ReportEngine", "definition", "interpret", "latest_complete_month", "load_spec", "training_only",
           "valid_combinations"]
