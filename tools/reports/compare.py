"""Period-over-period comparison: which earlier period a report is compared with, and how it is named.

previous_period is the same-length period just before: calendar-aligned periods (starting on the 1st:
a month, a quarter, "last 3 months", month to date) move back by the number of calendar months they
touch, so a month is compared with the month before, a quarter with the quarter before and 1-15 July
with 1-15 June; any other range moves back by its number of days. previous_year is the same dates a
year earlier (29 February becomes the 28th; a month's last day stays its last day).
"""

from __future__ import annotations

import calendar
import datetime as dt

from tools.reports.spec import Compare, Period

COMPARE_NAMES: dict[str, tuple[str, str]] = {
    "previous_period": ("环比，对比上一期", "compared with the previous period"),
    "previous_year": ("同比，对比去年同期", "compared with the same period last year"),
}


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _shift(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months: a month's last day stays the last day, other days are clamped."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    last = _month_end(year, month)
    if day == _month_end(day.year, day.month):
        return last
    return last if day.day > last.day else dt.date(year, month, day.day)


def previous_range(start: dt.date, end: dt.date, compare: Compare) -> tuple[dt.date, dt.date]:
    """The (start, end) the period [start, end] is compared with, both ends inclusive."""
    if compare == "previous_year":
        return _shift(start, -12), _shift(end, -12)
    if start.day == 1:
        months = (end.year * 12 + end.month) - (start.year * 12 + start.month) + 1
        return _shift(start, -months), _shift(end, -months)
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), end - dt.timedelta(days=days)


def span_label(start: dt.date, end: dt.date) -> str:
    """A short name for a period: 2025-11, 2025-07 – 2025-09, or the dates when not whole months."""
    if start.day == 1 and end == _month_end(end.year, end.month):
        first, last = f"{start:%Y-%m}", f"{end:%Y-%m}"
        return first if first == last else f"{first} – {last}"
    return f"{start.isoformat()} – {end.isoformat()}"


def previous_period(start: dt.date, end: dt.date, compare: Compare, lang: str) -> Period:
    """The comparison period as a Period labelled in the spec's language (上期 / 去年同期)."""
    first, last = previous_range(start, end, compare)
    zh = lang == "zh"
    name = ("上期" if zh else "previous period") if compare == "previous_period" else \
        ("去年同期" if zh else "same period last year")
    return Period(start=first, end=last, label=name)


__all__ = ["COMPARE_NAMES", "previous_period", "previous_range", "span_label"]
