"""Time phrases of a report question resolved to an explicit Period against the data's `as_of` date.

Relative phrases (本月, last quarter, 近3个月, year to date) count from the month of `as_of`; "this"
periods end at `as_of` (to date), "last" periods are complete calendar periods. Explicit phrases
(2026年7月, July 2026, Q3 2025, 2025年7月至9月) resolve to calendar bounds.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from tools.reports.spec import Period

CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
          "十一": 11, "十二": 12, "十八": 18, "二十四": 24}
EN_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24}
MONTHS = {name: i for i, names in enumerate(
    [(), ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")]) for name in names}
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|" \
         r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_NUM = r"(\d{1,2}|十一|十二|十八|二十四|[一二两三四五六七八九十])"
_EN_NUM = r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|twenty-four)"
QUARTER_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "first": 1, "1st": 1, "second": 2, "2nd": 2,
                 "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": 4}


def _num(text: str) -> int:
    return int(text) if text.isdigit() else CN_NUM.get(text) or EN_NUM[text]


def month_end(year: int, month: int) -> dt.date:
    """The last day of a month."""
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    """(year, month) shifted by `delta` months."""
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def quarter_to_last_full_month(as_of: dt.date, label: str) -> Period:
    """The quarter of the latest complete month, from its first day to that month's end (a quarter compared
    with the one before when no period is named)."""
    last = as_of
    if (as_of + dt.timedelta(days=1)).month == as_of.month:  # as_of mid-month: up to the last full month
        last = month_end(*add_months(as_of.year, as_of.month, -1))
    return Period(start=dt.date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), end=last, label=label)


def _quarter(year: int, q: int, label: str) -> Period:
    return Period(start=dt.date(year, 3 * q - 2, 1), end=month_end(year, 3 * q), label=label)


def _year_of(month: int, as_of: dt.date) -> int:
    """A month named without a year: the latest such month not after as_of."""
    return as_of.year if month <= as_of.month else as_of.year - 1


def _relative(m: re.Match[str], as_of: dt.date) -> Period:
    y, mo = as_of.year, as_of.month
    key, label = m.lastgroup or "", m.group(0).strip()
    q = (mo - 1) // 3 + 1
    if key == "this_month":
        return Period(start=dt.date(y, mo, 1), end=as_of, label=label)
    if key == "last_month":
        ly, lm = add_months(y, mo, -1)
        return Period(start=dt.date(ly, lm, 1), end=month_end(ly, lm), label=label)
    if key == "this_quarter":
        return Period(start=dt.date(y, 3 * q - 2, 1), end=as_of, label=label)
    if key == "last_quarter":
        return _quarter(y - 1, 4, label) if q == 1 else _quarter(y, q - 1, label)
    if key == "this_year":
        return Period(start=dt.date(y, 1, 1), end=as_of, label=label)
    if key == "last_year":
        return Period(start=dt.date(y - 1, 1, 1), end=dt.date(y - 1, 12, 31), label=label)
    if key == "h1":
        return Period(start=dt.date(y, 1, 1), end=min(dt.date(y, 6, 30), as_of), label=label)
    if key == "h2":
        if mo < 7:
            return Period(start=dt.date(y - 1, 7, 1), end=dt.date(y - 1, 12, 31), label=label)
        return Period(start=dt.date(y, 7, 1), end=as_of, label=label)
    raise ValueError(key)


_RELATIVE = re.compile(
    r"(?P<this_month>本月|这个月|当月|this month|current month|month to date|mtd\b)|"
    r"(?P<last_month>上个?月|last month|previous month|prior month)|"
    r"(?P<this_quarter>本季度?|这个?季度|当季|this quarter|current quarter|quarter to date|qtd\b)|"
    r"(?P<last_quarter>上个?季度|上季|last quarter|previous quarter|prior quarter)|"
    r"(?P<this_year>今年|本年度?|年初至今|this year|year to date|year-to-date|ytd\b|so far this year)|"
    r"(?P<last_year>去年|上一?年度?|last year|previous year)|"
    r"(?P<h1>上半年|first half(?: of (?:the |this )?year)?|\bh1\b)|"
    r"(?P<h2>下半年|second half(?: of (?:the |this )?year)?|\bh2\b)"
)
_LAST_N_MONTHS = re.compile(rf"(?:近|最近|过去|前)\s*{_NUM}\s*个?月|"
                            rf"(?:last|past|previous|trailing|recent)\s+{_EN_NUM}\s+months?")
_LAST_N_DAYS = re.compile(r"(?:近|最近|过去)\s*(\d{1,3})\s*天|(?:last|past|previous|trailing)\s+(\d{1,3})\s+days?")
_ZH_RANGE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月?\s*(?:到|至|-|~|—|–)\s*(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月(?:份)?")
_EN_RANGE = re.compile(rf"(?:from\s+)?{_MONTH}\s*(\d{{4}})?\s*(?:to|-|–|—|through|until|till)\s*"
                       rf"{_MONTH}\s*,?\s*(\d{{4}})")
_ZH_QUARTER = re.compile(r"(\d{4})\s*年?\s*(?:第\s*([一二三四1-4])\s*季度?|([一二三四1-4])\s*季度)")
_HALF = re.compile(r"(\d{4})\s*年?\s*(上|下)半年|(first|second) half of (\d{4})|\b(h[12])\s*(\d{4})\b|\b(\d{4})\s*(h[12])\b")
_EN_QUARTER = re.compile(r"\bq([1-4])\s*(?:of\s*)?(\d{4})\b|\b(\d{4})\s*q([1-4])\b|"
                         r"\b(first|1st|second|2nd|third|3rd|fourth|4th)\s+quarter(?:\s+of)?\s+(\d{4})")
_ZH_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:份)?|(\d{4})[-/.](\d{1,2})(?!\d)")
_EN_MONTH = re.compile(rf"\b{_MONTH}\s*,?\s*(\d{{4}})\b|\b(\d{{4}})\s+{_MONTH}\b")
_ZH_YEAR = re.compile(r"(\d{4})\s*年(?:全年|度)?|(?:in|for|during)\s+(\d{4})\b")
_ZH_MONTH_ONLY = re.compile(r"(?<![年个次\d])(\d{1,2}|十一|十二|[一二三四五六七八九十])\s*月份?(?![份]?续)")
_EN_MONTH_ONLY = re.compile(rf"\b(?:in|for|during)\s+{_MONTH}(?!\w)")


def parse_period(text: str, as_of: dt.date) -> tuple[Period | None, list[tuple[int, int]]]:
    """The period a question names (None if it names none) and the character spans it used."""
    for finder in (_range, _quarters, _explicit_month, _last_n, _relative_phrase, _year, _month_only):
        found = finder(text, as_of)
        if found is not None:
            period, span = found
            return period, [span]
    return None, []


def _range(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _ZH_RANGE.search(text)
    if m:
        y1, m1, y2, m2 = int(m[1]), int(m[2]), int(m[3] or m[1]), int(m[4])
        return _checked((y1, m1), (y2, m2), m), m.span()
    m = _EN_RANGE.search(text)
    if m:
        y2 = int(m[4])
        y1 = int(m[2]) if m[2] else y2
        return _checked((y1, MONTHS[m[1]]), (y2, MONTHS[m[3]]), m), m.span()
    return None


def _checked(first: tuple[int, int], last: tuple[int, int], m: re.Match[str]) -> Period:
    if not (1 <= first[1] <= 12 and 1 <= last[1] <= 12):
        raise ValueError(f"no such month in {m.group(0)!r}")
    return Period(start=dt.date(first[0], first[1], 1), end=month_end(*last), label=m.group(0).strip())


def _quarters(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _ZH_QUARTER.search(text)
    if m:
        word = m[2] or m[3]
        q = int(word) if word.isdigit() else QUARTER_WORDS[word]
        return _quarter(int(m[1]), q, m.group(0).strip()), m.span()
    m = _HALF.search(text)
    if m:
        year = int(m[1] or m[4] or m[6] or m[7])
        first = (m[2] or m[3] or m[5] or m[8]) in ("上", "first", "h1")
        start = dt.date(year, 1 if first else 7, 1)
        end = min(dt.date(year, 6 if first else 12, 30 if first else 31), max(as_of, start))
        return Period(start=start, end=end, label=m.group(0).strip()), m.span()
    m = _EN_QUARTER.search(text)
    if m:
        if m[1]:
            year, q = int(m[2]), int(m[1])
        elif m[3]:
            year, q = int(m[3]), int(m[4])
        else:
            year, q = int(m[6]), QUARTER_WORDS[m[5]]
        return _quarter(year, q, m.group(0).strip()), m.span()
    return None


def _explicit_month(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _ZH_MONTH.search(text)
    if m:
        year, month = (int(m[1]), int(m[2])) if m[1] else (int(m[3]), int(m[4]))
    else:
        m = _EN_MONTH.search(text)
        if not m:
            return None
        year, month = (int(m[2]), MONTHS[m[1]]) if m[1] else (int(m[3]), MONTHS[m[4]])
    if not 1 <= month <= 12:
        return None
    return Period(start=dt.date(year, month, 1), end=month_end(year, month), label=m.group(0).strip()), m.span()


def _last_n(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _LAST_N_MONTHS.search(text)
    if m:
        n = _num(m[1] or m[2])
        first = add_months(as_of.year, as_of.month, -(max(n, 1) - 1))
        return Period(start=dt.date(*first, 1), end=as_of, label=m.group(0).strip()), m.span()
    m = _LAST_N_DAYS.search(text)
    if m:
        n = int(m[1] or m[2])
        return Period(start=as_of - dt.timedelta(days=max(n, 1) - 1), end=as_of, label=m.group(0).strip()), m.span()
    return None


def _relative_phrase(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _RELATIVE.search(text)
    return (_relative(m, as_of), m.span()) if m else None


def _year(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _ZH_YEAR.search(text)
    if not m:
        return None
    year = int(m[1] or m[2])
    return Period(start=dt.date(year, 1, 1), end=min(dt.date(year, 12, 31), max(as_of, dt.date(year, 1, 1))),
                  label=m.group(0).strip()), m.span()


def _month_only(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    m = _ZH_MONTH_ONLY.search(text)
    month = _num(m[1]) if m else None
    if not m:
        m = _EN_MONTH_ONLY.search(text)
        month = MONTHS[m[1]] if m else None
    if not m or month is None or not 1 <= month <= 12:
        return None
    year = _year_of(month, as_of)
    return Period(start=dt.date(year, month, 1), end=month_end(year, month), label=m.group(0).strip()), m.span()
