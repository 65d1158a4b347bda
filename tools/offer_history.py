"""What the offer engine needs from the subscriber store: the profile, the spend and the recent dispatches."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, get_args

from tools.schemas import DispatchRecord, SpendHistory, SubscriberProfile

LOOKBACK_MONTHS = 12  # dispatches older than every 6.5 window are not needed


def profile_from_subscriber(subscriber: Any) -> SubscriberProfile:
    """The five-distinction facts of a stored subscriber; values outside the known codes become None."""
    values: dict[str, Any] = {}
    for name, info in SubscriberProfile.model_fields.items():
        value = getattr(subscriber, name, None)
        allowed = [a for arg in get_args(info.annotation) for a in (get_args(arg) or [arg])]
        literal = [a for a in allowed if isinstance(a, str)]
        if literal and value not in literal:
            value = None  # e.g. an imported "4g" handset: unknown rather than guessed
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            value = None
        values[name] = value
    return SubscriberProfile(**values)


def history_from_records(
    dispatches: Iterable[DispatchRecord], outcomes: Iterable[DispatchRecord], as_of: date
) -> SpendHistory:
    """Spend so far and this month, and the dispatches of the last 12 months.

    Spend is the larger of what the outcomes record and what the dispatches committed, per period,
    so a dispatch whose outcome is not logged yet never frees budget.
    """
    from tools.offer_rules import add_months

    dispatches, outcomes = list(dispatches), list(outcomes)
    past = [r for r in [*dispatches, *outcomes] if r.date <= as_of]

    def spent(records: list[DispatchRecord], this_month: bool) -> float:
        return sum(r.cost for r in records if r.date <= as_of and (
            not this_month or (r.date.year, r.date.month) == (as_of.year, as_of.month)))

    total = max(spent(dispatches, False), spent(outcomes, False))
    month = max(spent(dispatches, True), spent(outcomes, True))
    start = add_months(as_of, -LOOKBACK_MONTHS)
    recent = sorted((r for r in past if r.date >= start), key=lambda r: r.date, reverse=True)
    return SpendHistory(spent_total=round(total, 2), spent_this_month=round(month, 2), recent_dispatches=recent)


def load_history(store: Any, subscriber_id: str, as_of: date, outcome_log: Any = None) -> SpendHistory:
    """The subscriber's spend and recent dispatches: the store's dispatch and outcome tables plus the
    contacts of the outcome log (`outcome_log`, else the log registered for the store, see
    `tools.outcomes.outcome_log_for`).

    A logged contact dated after the data's reference date `as_of` counts as spent in the `as_of`
    month: the data lags reality, the money is gone either way, so stale data never frees budget.
    """
    tables = {name: _records(store, name, subscriber_id) for name in ("dispatches", "outcomes")}
    logged = _logged(store, subscriber_id, as_of, outcome_log)
    return history_from_records(tables["dispatches"], [*tables["outcomes"], *logged], as_of)


def _logged(store: Any, subscriber_id: str, as_of: date, outcome_log: Any) -> list[DispatchRecord]:
    from tools.outcomes import outcome_log_for

    log = outcome_log if outcome_log is not None else outcome_log_for(store)
    if log is None:
        return []
    return [r.model_copy(update={"date": min(r.date, as_of)}) for r in log.records_for(str(subscriber_id))]


def _records(store: Any, table: str, subscriber_id: str) -> list[DispatchRecord]:
    path = store.path(table)
    if not path.is_file():
        return []
    sql = ("SELECT date, scenario, measure_codes, cost, result FROM read_parquet(?) "
           "WHERE subscriber_id = ? AND date IS NOT NULL")
    params = [str(path), str(subscriber_id)]
    if hasattr(store, "_rows"):  # the store's own DuckDB connection: no new connection per call
        rows = [tuple(r.values()) for r in store._rows(sql, params)]
    else:
        import duckdb

        with duckdb.connect() as db:
            rows = db.execute(sql, params).fetchall()
    out = []
    for day, scenario, codes, cost, result in rows:
        day = day.date() if hasattr(day, "date") else day
        cost = 0.0 if cost is None or cost != cost or cost < 0 else float(cost)
        out.append(DispatchRecord(date=day, scenario=scenario, measure_codes=codes, cost=cost, result=result))
    return out
