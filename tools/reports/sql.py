"""Compile a `ReportSpec` to one parameterised DuckDB query over the tables of `tools.reports.data`.

Only closed vocabularies reach the SQL text: every metric and dimension maps to a fixed expression
below, output columns are named after the enum values, and every value a user or a model gave
(filter values, period bounds, the limit) is a `?` parameter. Metrics are grouped in families by the
rows they count (subscribers by month, usage months, the scored base, contacts, work orders, graded practice
sessions); each
family is one CTE, and the families are joined on the dimension values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tools.errors import InvalidInput
from tools.reports.spec import Dimension, Metric, ReportSpec

D, M = Dimension, Metric
SUBSCRIBER_DIMS: dict[Dimension, str] = {
    D.value_tier: "p.value_tier", D.lifecycle_stage: "p.lifecycle_stage", D.risk_label: "p.risk_label",
    D.brand: "p.brand", D.plan: "p.plan", D.tenure_band: "p.tenure_band", D.region: "p.region",
}
SUCCESS = "IN ('retained', 'renewed')"


def _rate(numerator: str, denominator: str, digits: int = 4) -> str:
    return f"round(CAST({numerator} AS DOUBLE) / nullif({denominator}, 0), {digits})"


@dataclass(frozen=True)
class Family:
    """Metrics computed over the same rows: where they come from and how each dimension reads there."""

    name: str
    metrics: dict[Metric, str]
    dims: dict[Dimension, str]
    rows: str  # what one row is, for error messages


_CONTACT_DIMS = {D.month: "c.month", D.channel: "c.channel", D.agent: "c.agent_id", D.scenario: "c.scenario"}
_DISPATCH_DIMS = {D.month: "d.month", D.channel: "d.channel", D.agent: "d.agent_id", D.scenario: "d.scenario"}
_TRAINING_DIMS = {D.trainee: "t.trainee", D.scenario: "t.scenario", D.month: "t.month"}
FAMILIES: tuple[Family, ...] = (
    Family("base", {
        M.churn_rate: _rate("count(*) FILTER (WHERE p.churned_in)", "count(*)"),
        M.subscribers: "count(*)",
    }, {**SUBSCRIBER_DIMS, D.month: "p.month"}, "subscribers in network"),
    Family("usage", {M.arpu: "round(avg(u.arpu), 2)"},
           {**{d: "u." + e.split(".", 1)[1] for d, e in SUBSCRIBER_DIMS.items()}, D.month: "u.month"},
           "subscriber usage months"),
    Family("snapshot", {
        M.high_risk_count: "count(*) FILTER (WHERE p.risk_label = 'high')",
        M.mean_predicted_risk: "round(avg(p.churn_probability), 4)",
    }, {**SUBSCRIBER_DIMS, D.month: "p.month"}, "subscribers scored at the data's reference date"),
    Family("contacts", {
        M.retention_success_rate: _rate(f"count(*) FILTER (WHERE c.result {SUCCESS})",
                                        "count(*) FILTER (WHERE c.result <> 'no_answer')"),
        M.retention_cost: "round(coalesce(sum(c.cost), 0), 2)",
        M.cost_per_retained: _rate("sum(c.cost)", f"count(*) FILTER (WHERE c.result {SUCCESS})", 2),
        M.contacts: "count(*)",
    }, {**SUBSCRIBER_DIMS, **_CONTACT_DIMS}, "retention contacts"),
    Family("dispatch", {
        M.renewal_rate: _rate("count(*) FILTER (WHERE d.trigger = 'renewal' AND d.renew_lag <= 0)",
                              "count(*) FILTER (WHERE d.trigger = 'renewal')"),
        M.renewal_rate_next_month: _rate("count(*) FILTER (WHERE d.trigger = 'renewal' AND d.renew_lag <= 1)",
                                         "count(*) FILTER (WHERE d.trigger = 'renewal')"),
        M.renewal_rate_month_after: _rate("count(*) FILTER (WHERE d.trigger = 'renewal' AND d.renew_lag <= 2)",
                                          "count(*) FILTER (WHERE d.trigger = 'renewal')"),
        M.reach_rate: _rate("count(*) FILTER (WHERE d.reached)", "count(*)"),
        M.silent_activation_rate: _rate("count(*) FILTER (WHERE d.trigger = 'zero_voice' AND d.activated)",
                                        "count(*) FILTER (WHERE d.trigger = 'zero_voice' AND d.activated IS NOT NULL)"),
    }, {**SUBSCRIBER_DIMS, **_DISPATCH_DIMS}, "retention work orders"),
    Family("training", {
        M.training_score: "round(avg(t.total), 1)",
        M.training_sessions: "count(*)",
    }, _TRAINING_DIMS, "graded practice (role-play) sessions"),
)
FAMILY_OF: dict[Metric, Family] = {m: f for f in FAMILIES for m in f.metrics}
_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def valid_dimensions(metric: Metric) -> list[str]:
    """The dimensions a metric can be split or filtered by."""
    return [d.value for d in FAMILY_OF[metric].dims]


def valid_combinations() -> dict[str, list[str]]:
    """Every metric with the dimensions that have a meaning for it."""
    return {m.value: valid_dimensions(m) for m in Metric}


@dataclass
class CompiledReport:
    """SQL text with `?` placeholders, its parameters in order, and the output columns."""

    sql: str
    params: list[Any] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


def _check(spec: ReportSpec) -> None:
    for metric in spec.metrics:
        family = FAMILY_OF[metric]
        used = [*spec.dimensions, *(f.field for f in spec.filters)]
        bad = [d.value for d in used if d not in family.dims]
        if bad:
            raise InvalidInput(
                f"metric {metric.value} is computed over {family.rows} and cannot be split or filtered by "
                f"{', '.join(dict.fromkeys(bad))}; valid dimensions for {metric.value}: "
                f"{', '.join(valid_dimensions(metric))}")


def _filters(spec: ReportSpec, family: Family) -> tuple[list[str], list[Any]]:
    clauses, params = [], []
    for f in spec.filters:
        expr = family.dims[f.field]
        values = [str(v) for v in f.value] if isinstance(f.value, list) else [str(f.value)]
        if f.op in ("in", "not_in"):
            marks = ", ".join("?" for _ in values)
            clauses.append(f"{expr} {'NOT IN' if f.op == 'not_in' else 'IN'} ({marks})")
        elif f.op == "between":
            clauses.append(f"{expr} BETWEEN ? AND ?")
        else:
            clauses.append(f"{expr} {_OPS[f.op]} ?")
        params.extend(values)
    return clauses, params


def _source(family: Family, spec: ReportSpec, start: dt.date, end: dt.date,
            as_of: dt.date) -> tuple[str, list[Any], list[str], list[Any]]:
    """FROM clause and its parameters, then the WHERE clauses the family always applies."""
    monthly = D.month in spec.dimensions or any(f.field == D.month for f in spec.filters)
    if family.name == "base":
        return (*_base_source(monthly, start, end), [], [])
    if family.name == "usage":
        return "usage_k u", [], ["u.month BETWEEN ? AND ?"], \
            [f"{start:%Y-%m}", f"{end:%Y-%m}"]
    if family.name == "snapshot":
        return ("(SELECT *, CAST(? AS VARCHAR) AS month FROM pop WHERE in_base) p", [f"{as_of:%Y-%m}"], [], [])
    if family.name == "training":
        return "training_k t", [], ["t.day BETWEEN ? AND ?"], [start, end]
    alias, table = ("c", "contacts") if family.name == "contacts" else ("d", "dispatch_k")
    return f"{table} {alias} LEFT JOIN pop p ON p.sk = {alias}.sk", [], [f"{alias}.day BETWEEN ? AND ?"], [start, end]


_BASE_COLUMNS = "value_tier, lifecycle_stage, risk_label, tenure_band, brand, plan, region"
MAX_UNION_MONTHS = 6  # up to this many months one scan per month is fastest; beyond, one inequality join


def _base_source(monthly: bool, start: dt.date, end: dt.date) -> tuple[str, list[Any]]:
    """Subscribers in network at the start of each month (or of the period), with whether they left in it."""
    if not monthly:
        return (f"(SELECT {_BASE_COLUMNS}, coalesce(churn_date <= ?, false) AS churned_in FROM pop "
                "WHERE activation_date < ? AND (churn_date IS NULL OR churn_date >= ?)) p", [end, start, start])
    first = start.year * 12 + start.month - 1
    months = list(range(first, end.year * 12 + end.month))
    if len(months) <= MAX_UNION_MONTHS:
        branch = (f"SELECT {_BASE_COLUMNS}, CAST(? AS VARCHAR) AS month, coalesce(churn_m = ?, false) AS churned_in "
                  "FROM pop WHERE act_m < ? AND coalesce(churn_m, 999999) >= ?")
        params: list[Any] = []
        for m in months:
            params += [f"{m // 12:04d}-{m % 12 + 1:02d}", m, m, m]
        return "(" + " UNION ALL ".join(branch for _ in months) + ") p", params
    return (f"(SELECT {', '.join('pp.' + c.strip() for c in _BASE_COLUMNS.split(','))}, cal.month, "
            "coalesce(pp.churn_m = cal.mn, false) AS churned_in "
            "FROM (SELECT strftime(m, '%Y-%m') AS month, year(m) * 12 + month(m) - 1 AS mn "
            "FROM generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 MONTH) g(m)) cal, pop pp "
            "WHERE pp.act_m < cal.mn AND coalesce(pp.churn_m, 999999) >= cal.mn) p",
            [start.replace(day=1), end.replace(day=1)])


def compile_spec(spec: ReportSpec, start: dt.date, end: dt.date, as_of: dt.date) -> CompiledReport:
    """The query for `spec` over the period [start, end]; snapshot metrics are as of `as_of`."""
    _check(spec)
    dims = [d.value for d in spec.dimensions]
    families = [f for f in FAMILIES if any(m in f.metrics for m in spec.metrics)]
    ctes, params = [], []
    for family in families:
        frm, frm_params, where, where_params = _source(family, spec, start, end, as_of)
        filters, filter_params = _filters(spec, family)
        select = [f"{family.dims[d]} AS \"{d.value}\"" for d in spec.dimensions]
        select += [f"{family.metrics[m]} AS \"{m.value}\"" for m in spec.metrics if m in family.metrics]
        sql = f"f_{family.name} AS (SELECT {', '.join(select)} FROM {frm}"
        if where or filters:
            sql += " WHERE " + " AND ".join([*where, *filters])
        if dims:
            sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(dims)))
        ctes.append(sql + ")")
        params += [*frm_params, *where_params, *filter_params]
    quoted = [f'"{d}"' for d in dims]
    metric_cols = [f'f_{FAMILY_OF[m].name}."{m.value}"' for m in spec.metrics]
    if not dims:
        body = f"SELECT {', '.join(metric_cols)} FROM " + " CROSS JOIN ".join(f"f_{f.name}" for f in families)
    elif len(families) == 1:
        body = f"SELECT {', '.join([*quoted, *metric_cols])} FROM f_{families[0].name}"
    else:
        union = " UNION ".join(f"SELECT {', '.join(quoted)} FROM f_{f.name}" for f in families)
        ctes.append(f"k AS ({union})")
        joins = " ".join(
            f"LEFT JOIN f_{f.name} ON " + " AND ".join(f'k.{q} IS NOT DISTINCT FROM f_{f.name}.{q}' for q in quoted)
            for f in families)
        body = f"SELECT {', '.join([*(f'k.{q}' for q in quoted), *metric_cols])} FROM k {joins}"
    order = [f'"{spec.sort.by}" {"DESC" if spec.sort.desc else "ASC"} NULLS LAST'] if spec.sort else []
    order += [f"{q} ASC NULLS LAST" for q in quoted]
    sql = "WITH " + ", ".join(ctes) + " " + body
    if order:
        sql += " ORDER BY " + ", ".join(order)
    if spec.limit is not None:
        sql += " LIMIT ?"
        params.append(spec.limit)
    return CompiledReport(sql=sql, params=params, columns=[*dims, *(m.value for m in spec.metrics)])


# Digits of a comparison's change column, as the metric itself is rounded (counts stay whole numbers).
CHANGE_DIGITS: dict[Metric, int | None] = {
    **{m: 4 for m in Metric}, M.arpu: 2, M.retention_cost: 2, M.cost_per_retained: 2, M.training_score: 1,
    M.subscribers: None, M.contacts: None, M.high_risk_count: None, M.training_sessions: None,
}


def compile_comparison(spec: ReportSpec, current: tuple[dt.date, dt.date], previous: tuple[dt.date, dt.date],
                       as_of: dt.date) -> CompiledReport:
    """One query comparing two periods: the spec compiled for each (as subqueries), joined on the dimension
    values; columns are the dimensions, then `<metric>`, `<metric>_previous`, `<metric>_change` per metric."""
    snapshot = [m.value for m in spec.metrics if FAMILY_OF[m].name == "snapshot"]
    if snapshot:
        raise InvalidInput(f"{', '.join(snapshot)} is a snapshot of the scored base at the data's reference date, "
                           "the same whichever period is asked for, so it cannot be compared between periods; "
                           "compare churn_rate, arpu or the contact and work-order metrics instead")
    plain = spec.model_copy(update={"sort": None, "limit": None, "compare": None})
    now, before = compile_spec(plain, *current, as_of), compile_spec(plain, *previous, as_of)
    dims = [d.value for d in spec.dimensions]
    select = [f'coalesce(c."{d}", p."{d}") AS "{d}"' for d in dims]
    columns = list(dims)
    for m in spec.metrics:
        name = m.value
        digits = CHANGE_DIGITS[m]
        change = f'c."{name}" - p."{name}"'
        select += [f'c."{name}" AS "{name}"', f'p."{name}" AS "{name}_previous"',
                   f"{change if digits is None else f'round({change}, {digits})'} AS \"{name}_change\""]
        columns += [name, f"{name}_previous", f"{name}_change"]
    if dims:
        on = " AND ".join(f'c."{d}" IS NOT DISTINCT FROM p."{d}"' for d in dims)
        source = f"({now.sql}) c FULL OUTER JOIN ({before.sql}) p ON {on}"
    else:
        source = f"({now.sql}) c CROSS JOIN ({before.sql}) p"
    order = []
    if spec.sort:  # by position: a dimension's name is also a column of both sides
        order.append(f"{columns.index(spec.sort.by) + 1} {'DESC' if spec.sort.desc else 'ASC'} NULLS LAST")
    order += [f"{i + 1} ASC NULLS LAST" for i in range(len(dims))]
    sql = f"SELECT {', '.join(select)} FROM {source}"
    if order:
        sql += " ORDER BY " + ", ".join(order)
    params = [*now.params, *before.params]
    if spec.limit is not None:
        sql += " LIMIT ?"
        params.append(spec.limit)
    return CompiledReport(sql=sql, params=params, columns=columns)
