"""Validator for LLM-polished wording: nothing may appear that the engine did not say.

When an LLM rewrites a script line or an offer message, `validate_polished_text` compares the new
text with the engine's output and rejects any offer (measure code or title), price or amount,
percentage or discount, time limit, promise word or full phone number that the engine's
customer-facing text does not contain. It is deterministic: numbers are extracted from Arabic and
Chinese numerals (三个月, 百分之二十, 八折, two years), measure titles come from the catalogue, promise
words from a fixed lexicon. When the check fails the caller keeps the engine's own wording
(`accept_polished`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

ProblemKind = Literal["amount", "percentage", "time_limit", "number", "offer", "promise", "phone_number"]

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_EN_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_EN_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                  "ninety": 90, "hundred": 100, "thousand": 1000, "half": 0.5, "a dozen": 12})

# Units after a number -> canonical unit. Order matters: longer spellings first.
_UNITS: list[tuple[str, str]] = [
    (r"%|％|\s?per ?cent\b|\s?pct\b", "percent"),
    (r"折", "discount"),
    (r"\s?(?:元|块钱|块|yuan\b|RMB\b|CNY\b)", "yuan"),
    (r"\s?(?:个多月|个半月|个月|個月|-?months?\b)", "month"),
    (r"\s?(?:周年|年|-?years?\b)", "year"),
    (r"\s?(?:个星期|星期|周|-?weeks?\b)", "week"),
    (r"\s?(?:天|日|-?days?\b)", "day"),
    (r"\s?(?:个小时|小时|小時|-?hours?\b|h\b)", "hour"),
    (r"\s?(?:分钟|-?minutes?\b|mins?\b)", "minute"),
    (r"\s?(?:GB|G\b|MB|M\b|兆)", "data"),
    (r"月", "month_name"),
]
_UNIT_RE = [(re.compile(f"^(?:{pattern})", re.IGNORECASE), unit) for pattern, unit in _UNITS]
_KIND = {"percent": "percentage", "discount": "percentage", "yuan": "amount", "month": "time_limit",
         "year": "time_limit", "week": "time_limit", "day": "time_limit", "hour": "time_limit",
         "minute": "time_limit", "month_name": "time_limit", "date": "time_limit", "": "number",
         "data": "number"}
_TO_MONTHS = {"month": 1.0, "year": 12.0}
_TO_DAYS = {"day": 1.0, "week": 7.0}
_TO_MINUTES = {"hour": 60.0, "minute": 1.0}

_NUMBER = re.compile(
    r"(?P<ar>(?<![A-Za-z\d.])\d+(?:,\d{3})*(?:\.\d+)?)"
    r"|(?P<cn>[零〇一二两三四五六七八九十百千万亿半]+)"
    r"|(?P<en>\b(?:a dozen|(?:(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|half)(?:[\s-]+(?=(?:one|two|three|four|five|six|seven|"
    r"eight|nine|hundred|thousand)\b))?)+)\b)",
    re.IGNORECASE,
)
_DATES = [
    re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?"),
    re.compile(r"(?<!\d)(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]"),
]
_MASKED = re.compile(r"(?<!\d)\d{3}\*{2,6}(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
_CODE = re.compile(r"(?<![A-Za-z0-9])[PRD][MSA]\d{3}(?!\d)")
_TECH_G = re.compile(r"(?<![\d.])[2-5]G(?!B)", re.IGNORECASE)  # 3G/4G/5G are networks, not data
_HALF_PRICE = re.compile(r"半价|half[- ]price", re.IGNORECASE)

# Generic offer words: an LLM adding one of these invents an offer unless the engine said it.
_OFFER_TERMS = [
    r"免费", r"送手机", r"赠送手机", r"新手机", r"打折", r"折扣", r"半价", r"降价", r"减免", r"免单",
    r"返现", r"红包", r"优惠券", r"代金券", r"礼品", r"赠品", r"免月租",
    r"\bfor free\b", r"\bfree (?:of charge|phones?|handsets?|data|months?|minutes|gifts?|upgrades?|trials?|calls?)\b",
    r"\bdiscount", r"\bhalf[- ]price\b", r"\bcash ?back\b", r"\bvouchers?\b", r"\bcoupons?\b",
    r"\bgifts?\b", r"\bwaiv", r"\brebates?\b", r"\bprice cuts?\b",
    r"\b(?:lower|cut|reduce)\w* (?:your |the )?(?:price|bill|fee|rate)s?\b", r"\bnew (?:phone|handset)s?\b",
]
# Promises the playbooks forbid (7.11 "promises we never make") or that no engine text makes.
_PROMISES = [
    r"保证(?!金)", r"担保", r"一定(?!程度)", r"肯定(?:能|会|可以|没问题)", r"绝对", r"百分之百",
    r"永久", r"终身", r"无限", r"不限量", r"随便用", r"包您满意", r"包你满意", r"零风险", r"无条件",
    r"全网最低", r"最低价", r"最便宜", r"稳赚", r"承诺", r"马上到账", r"立即到账", r"立即生效",
    r"马上生效", r"今天之内", r"明天",
    r"\bguarantee", r"\bpromis", r"\bfree forever\b", r"\bforever\b", r"\bfor life\b", r"\blifetime\b",
    r"\bunlimited\b", r"\bno limits?\b", r"\bdefinitely\b", r"\brisk[- ]free\b", r"\bno strings\b",
    r"\bunconditional", r"\bno conditions\b", r"\b(?:best|lowest) price\b", r"\bcheapest\b",
    r"\bnever expires?\b", r"\balways free\b", r"\bpermanent", r"\bimmediately\b", r"\binstantly\b",
    r"\btomorrow\b", r"\bwithin the day\b",
]
_OFFER_RE = [re.compile(p, re.IGNORECASE) for p in _OFFER_TERMS]
_PROMISE_RE = [re.compile(p, re.IGNORECASE) for p in _PROMISES]


class Quantity(NamedTuple):
    """A number found in text, with its canonical unit ('' when none) and the matched fragment."""

    value: float
    unit: str
    text: str


class ValidationProblem(BaseModel):
    """One thing in the polished text that the engine's output does not contain."""

    kind: ProblemKind
    text: str = Field(..., description="The fragment found in the polished text.")
    detail: str


class ValidationResult(BaseModel):
    """Whether polished wording may replace the engine's text, and what is wrong with it if not."""

    ok: bool
    problems: list[ValidationProblem] = Field(default_factory=list)


# --- numbers ---------------------------------------------------------------------------------


def _cn_value(text: str) -> float | None:
    """Chinese numeral -> number: 三 3, 二十 20, 一百二十 120, 两万 20000, 半 0.5."""
    if text == "半":
        return 0.5
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None:  # 二〇二六 style: digit by digit
                digit = digit * 10 + _CN_DIGITS[ch]
            else:
                digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch in _CN_BIG:
            total += (section + (digit or 0)) * _CN_BIG[ch]
            section, digit = 0, None
        else:
            return None
    return float(total + section + (digit or 0))


def _en_value(text: str) -> float | None:
    words = re.split(r"[\s-]+", text.lower().replace("a dozen", "dozen"))
    total, current = 0.0, 0.0
    for word in words:
        if word == "dozen":
            current += 12
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        elif word in _EN_WORDS:
            current += _EN_WORDS[word]
        else:
            return None
    return total + current


def _unit_after(rest: str) -> tuple[str, int]:
    skip = len(rest) - len(rest.lstrip("+多余"))  # 2+ years, 10多年
    for pattern, unit in _UNIT_RE:
        match = pattern.match(rest[skip:])
        if match:
            return unit, skip + match.end()
    return "", 0


def extract_quantities(text: str) -> list[Quantity]:
    """Every number in `text` with its unit: Arabic, Chinese (with a unit) and English words (with a unit)."""
    found: list[Quantity] = []
    for pattern in _DATES:
        for m in pattern.finditer(text):
            parts = [m.group(k) for k in ("y", "m", "d") if k in pattern.groupindex]
            found.append(Quantity(float("".join(p.zfill(2) for p in parts)), "date", m.group(0)))
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    text = _TECH_G.sub("  ", text)
    for m in _HALF_PRICE.finditer(text):
        found.append(Quantity(50.0, "percent", m.group(0)))
    text = _HALF_PRICE.sub(lambda m: " " * len(m.group(0)), text)
    for m in _NUMBER.finditer(text):
        before, rest = text[max(0, m.start() - 5):m.start()], text[m.end():]
        unit, length = _unit_after(rest)
        fragment = text[m.start():m.end() + length]
        if m.group("ar"):
            value = float(m.group("ar").replace(",", ""))
        else:
            raw = m.group("cn") or m.group("en")
            value = _cn_value(raw) if m.group("cn") else _en_value(raw)
            if before.endswith("百分之") and value is not None:
                unit, fragment = "percent", "百分之" + fragment
            # A word numeral only counts with a unit: 一下, 十分感谢, "one of" are not quantities.
            if value is None or unit in ("", "month_name") or before.endswith("第"):
                continue
        if before.endswith("第"):
            continue
        if not unit and re.search(r"(?:[¥￥]|RMB|CNY)\s*$", before, re.IGNORECASE):
            unit = "yuan"
        if unit == "year" and value >= 1900:
            unit = "date"
        found.append(Quantity(value, unit, fragment.strip()))
    return found


def extract_numbers(text: str) -> list[float]:
    """The numeric values found in `text` (dates as yyyymmdd / mmdd)."""
    return [q.value for q in extract_quantities(text)]


def _same(q: Quantity, r: Quantity) -> bool:
    """True when a polished quantity says the same thing as a reference quantity."""
    if q.unit == "date" or r.unit == "date":
        if {q.unit, r.unit} == {"date", "month_name"}:  # 3月 / 3月底 for a date in March
            month, date = (q, r) if q.unit == "month_name" else (r, q)
            return f"{date.value:.0f}"[-4:-2].lstrip("0") == f"{month.value:.0f}"
        if q.unit != r.unit:
            return False
        a, b = f"{q.value:.0f}", f"{r.value:.0f}"
        return a == b or a.endswith(b) or b.endswith(a)  # 3月31日 matches 2026-03-31
    v, w = round(q.value, 2), round(r.value, 2)
    for table in (_TO_MONTHS, _TO_DAYS, _TO_MINUTES):
        if q.unit in table and r.unit in table:
            return round(v * table[q.unit], 2) == round(w * table[r.unit], 2)
    pct = {"percent", "discount"}
    if q.unit in pct and r.unit in pct and q.unit != r.unit:
        pay = v if q.unit == "percent" else w
        d = w if q.unit == "percent" else v
        return pay in (round(d * 10, 2), round(100 - d * 10, 2))
    if v != w:
        return False
    return q.unit == r.unit or "" in (q.unit, r.unit) or {q.unit, r.unit} <= {"month_name", "month"}


# --- the reference: what the engine said -------------------------------------------------------


class _Reference(NamedTuple):
    text: str
    quantities: list[Quantity]
    cap_total: float | None


def _offer_texts(offer: Any, lang: str) -> Iterable[str]:
    yield offer.measure_code
    yield getattr(offer, f"title_{lang}", "") or ""
    terms = getattr(offer, "terms", None)
    if terms is not None:
        yield getattr(terms, f"customer_gets_{lang}", "")
        yield from getattr(terms, f"conditions_{lang}", [])


def _offer_numbers(offer: Any) -> list[Quantity]:
    values = [(offer.monthly_cost, "yuan"), (offer.one_off_cost, "yuan")]
    terms = getattr(offer, "terms", None)
    if terms is not None:
        values += [(terms.validity_days, "day"), (terms.prepay, "yuan"), (terms.contract_months, "month")]
    return [Quantity(float(v), unit, "") for v, unit in values if v]


def _collect(item: Any, lang: str, texts: list[str], numbers: list[Quantity], caps: list[float],
             include_notes: bool) -> None:
    if item is None:
        return
    if isinstance(item, str):
        texts.append(item)
    elif isinstance(item, (list, tuple)):
        for part in item:
            _collect(part, lang, texts, numbers, caps, include_notes)
    elif hasattr(item, "sections") and hasattr(item, "objections"):  # CallScript
        for section in item.sections:
            texts.extend(section.lines)
            if include_notes:
                texts.extend(section.notes)
        for o in item.objections:
            texts.extend((o.objection, o.response))
        _collect(list(item.offers), lang, texts, numbers, caps, include_notes)
    elif hasattr(item, "measure_code") and hasattr(item, "monthly_cost"):  # Offer
        texts.extend(_offer_texts(item, lang))
        numbers.extend(_offer_numbers(item))
        caps.append(item.cap_total)
    elif hasattr(item, "body") and hasattr(item, "channel"):  # OfferDraft
        texts.extend(t for t in (item.subject, item.body) if t)
    else:
        raise TypeError(f"cannot validate against a {type(item).__name__}")


def _reference(script_or_offers: Any, lang: str, include_notes: bool) -> _Reference:
    texts: list[str] = []
    numbers: list[Quantity] = []
    caps: list[float] = []
    _collect(script_or_offers, lang, texts, numbers, caps, include_notes)
    joined = "\n".join(texts)
    return _Reference(joined, extract_quantities(joined) + numbers, max(caps) if caps else None)


@lru_cache(maxsize=1)
def _catalogue_titles() -> tuple[str, ...]:
    """Customer-offer titles of the shipped catalogue (with and without their bracketed remarks)."""
    from tools.catalogue import load_catalogue

    cat = load_catalogue()
    titles: set[str] = set()
    entries = [m for m in cat.measures.values() if m.customer_offer] + list(cat.families.values())
    for entry in entries:
        for title in (entry.title_zh, entry.title_en):
            for variant in (title, re.split(r"[（(]", title)[0].strip()):
                if len(variant) >= 4 or re.search(r"[\u4e00-\u9fff]{3,}", variant):
                    titles.add(variant)
    return tuple(sorted(titles, key=len, reverse=True))


def lexicon_terms(text: str) -> list[tuple[str, str]]:
    """The offer words and promise words of the fixed lexicons found in `text`, as (kind, fragment)."""
    return [(kind, m.group(0)) for kind, patterns in (("offer", _OFFER_RE), ("promise", _PROMISE_RE))
            for pattern in patterns if (m := pattern.search(text))]


def _contains(haystack: str, needle: str) -> bool:
    if re.search(r"[A-Za-z]", needle):
        return re.search(rf"\b{re.escape(needle)}\b", haystack, re.IGNORECASE) is not None
    return needle in haystack


# --- the check ---------------------------------------------------------------------------------


def validate_polished_text(
    text: str, script_or_offers: Any, lang: Literal["zh", "en"] = "zh", *,
    include_notes: bool = False, titles: Iterable[str] | None = None,
) -> ValidationResult:
    """Reject offers, amounts, percentages, time limits and promises in `text` the engine did not output."""
    ref = _reference(script_or_offers, lang, include_notes)
    problems: list[ValidationProblem] = []

    def add(kind: ProblemKind, fragment: str, detail: str) -> None:
        if not any(p.kind == kind and p.text == fragment for p in problems):
            problems.append(ValidationProblem(kind=kind, text=fragment, detail=detail))

    for m in _PHONE.finditer(text):
        add("phone_number", m.group(0)[:3] + "****", "a full phone number; only masked numbers may appear")
    clean = _PHONE.sub(" ", text)
    for m in _MASKED.finditer(clean):  # the masked number is fine when its last four digits are the engine's
        if m.group(1) not in ref.text:
            add("number", m.group(0), f"masked number {m.group(0)} is not the subscriber's")
    clean = _MASKED.sub(" ", clean)
    for q in extract_quantities(clean):
        if any(_same(q, r) for r in ref.quantities):
            continue
        kind = _KIND.get(q.unit, "number")
        detail = f"{q.text!r} is not in the engine's output"
        if kind == "amount" and ref.cap_total is not None and q.value > ref.cap_total:
            detail += f" and exceeds the total cost cap {ref.cap_total:g}"
        add(kind, q.text, detail)
    for code in _CODE.findall(clean):
        if code not in ref.text:
            add("offer", code, f"measure {code} is not among the engine's offers")
    remaining = clean
    for title in (_catalogue_titles() if titles is None else tuple(titles)):
        if _contains(remaining, title) and not _contains(ref.text, title):
            add("offer", title, f"offer {title!r} is not among the engine's offers")
            remaining = remaining.replace(title, " ")
    for kind, patterns in (("offer", _OFFER_RE), ("promise", _PROMISE_RE)):
        for pattern in patterns:
            m = pattern.search(clean)
            if m and not pattern.search(ref.text):
                what = "offer term" if kind == "offer" else "promise"
                add(kind, m.group(0), f"{what} {m.group(0)!r} is not in the engine's output")  # type: ignore[arg-type]
    return ValidationResult(ok=not problems, problems=problems)


def accept_polished(
    polished: str, engine_text: str, script_or_offers: Any, lang: Literal["zh", "en"] = "zh",
) -> tuple[str, ValidationResult]:
    """The polished text when it passes validation, else the engine's own text (and the verdict)."""
    result = validate_polished_text(polished, script_or_offers, lang)
    return (polished if result.ok else engine_text), result
