"""Offline natural language -> ReportSpec: the common zh and en supervisor phrasings, no model needed.

`parse_question("上季度各价值等级的流失率", as_of=date(2025, 12, 31))` returns the spec plus what it did
not understand. Every value in the spec comes from a closed vocabulary (nl_lexicon.py), a strict id
pattern (AG0123) or the data's own values (`engine.dimension_values`), never from free question
text, so nothing a user types can reach SQL. A question with no recognisable metric gets a message
listing what can be asked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from knowledge.normalize import index_form
from tools.reports.nl_lexicon import (
    BRANDS, CHAIN, COMPARE_PREVIOUS_PERIOD, COMPARE_PREVIOUS_YEAR, COMPARE_QUARTER, DIMENSION_WORDS, FALL_WORDS,
    FILTER_WORDS, GROUP_AFTER, GROUP_BEFORE_EN, GROUP_BEFORE_ZH, HIGHER_IS_BETTER, METRIC_NAMES, METRIC_PATTERNS,
    MONTH_TREND, PROVINCES, RISE_WORDS,
)
from tools.reports.nl_time import CN_NUM, EN_NUM, add_months, parse_period, quarter_to_last_full_month
from tools.reports.spec import DIMENSION_LABELS, Compare, Dimension, Filter, Metric, Period, ReportSpec, Sort

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = "|".join(f"(?P<{d.value}>{w})" for d, w in DIMENSION_WORDS)
_DIM_ZH = re.compile(rf"{GROUP_BEFORE_ZH}\s*(?:{_WORD})")
_DIM_EN = re.compile(rf"(?<![a-z]){GROUP_BEFORE_EN}\s+(?:{_WORD})(?![a-z])")
_DIM_AFTER = re.compile(rf"(?<![a-z])(?:{_WORD})\s*{GROUP_AFTER}")
_DIM_CHAIN = re.compile(rf"\s*{CHAIN}(?:{_WORD})(?![a-z])")
_TREND = re.compile(MONTH_TREND)
_COUNTED = re.compile(rf"(?<![\d.])(\d{{1,3}}|[一二两三四五六七八九十]{{1,2}}(?=个|名|位|家))\s*(?:个|名|位|家)?\s*的?\s*"
                      rf"(?:{_WORD})(?![a-z])")
_COMPARE = re.compile(r"对比|比较|相比|(?<![a-z])(?:compare[ds]?|comparison|versus|vs\.?)(?![a-z])")
_N = r"(\d{1,4}|" + "|".join(sorted(CN_NUM, key=len, reverse=True)) + "|" + "|".join(EN_NUM) + ")"
_TOP = re.compile(rf"(?:top|highest|largest|biggest|most)\s+{_N}|{_N}\s+(?:highest|largest|biggest)|"
                  rf"前\s*{_N}\s*(?:名|个|位|家)?|最高的?\s*{_N}\s*(?:名|个|位|家)")
_BOTTOM = re.compile(rf"(?:bottom|lowest|least|smallest|fewest)\s+{_N}|{_N}\s+lowest|"
                     rf"(?:后|倒数(?:前)?)\s*{_N}\s*(?:名|个|位|家)?|最低的?\s*{_N}\s*(?:名|个|位|家)")
_BEST = re.compile(rf"(?:best|最好的?)\s*{_N}?|{_N}\s+best")
_WORST = re.compile(rf"(?:worst|最差的?)\s*{_N}?|{_N}\s+worst")
_DESC = re.compile(r"最高|最多|最大|排名|排行|(?<![a-z])(?:highest|most|largest|biggest|rank(?:ing|ed)?|descending)(?![a-z])")
_ASC = re.compile(r"最低|最少|最小|(?<![a-z])(?:lowest|(?<!at )least|fewest|smallest|ascending)(?![a-z])")
_AGENT_ID = re.compile(r"(?<![a-z0-9])(ag\d{3,6})(?![0-9])")
_NEGATION = re.compile(r"(?:除了?|不含|不包括|排除|剔除|非|excluding|except(?: for)?|other than|not in|without)\s*$")
_YEAR_OVER_YEAR = re.compile(COMPARE_PREVIOUS_YEAR)
_PERIOD_OVER_PERIOD = re.compile(COMPARE_PREVIOUS_PERIOD)
_QUARTERLY = re.compile(COMPARE_QUARTER)
_FALL = re.compile(FALL_WORDS)
_RISE = re.compile(RISE_WORDS)
_CHANGE = re.compile(r"变化最大|变动最大|波动最大|(?<![a-z])(?:changed the most|(?:biggest|largest) changes?)(?![a-z])")
_WEEK = re.compile(r"本周|上周|每周|按周|周报|this week|last week|weekly|by week|per week")
_LEFT_BY_ZH = re.compile(r"按照?\s*([^\s，,。？?]{1,6})")
_LEFT_BY_EN = re.compile(r"\b(?:by|per)\s+([a-z][a-z\-]{2,20})")
TRAINING_METRICS = {Metric.training_score, Metric.training_sessions}
_PEOPLE = re.compile(r"(?<![a-z])(?:subscribers?|customers?|users?)(?![a-z])|客户|用户")
TREND_MONTHS = 6  # a trend with no period named shows the last six months


class ParsedQuestion(BaseModel):
    """What the parser made of a question: the spec (None without a metric) and what it could not use."""

    question: str
    lang: Literal["zh", "en"]
    spec: ReportSpec | None = None
    unknown: list[str] = Field(default_factory=list)  # phrases recognised as a request it cannot honour
    notes: list[str] = Field(default_factory=list)  # assumptions it made
    message: str = ""  # without a spec: what can be asked


def detect_lang(text: str) -> Literal["zh", "en"]:
    """zh when the text is mostly Chinese (an English question may name a Chinese brand or province)."""
    han = len(_CJK.findall(text))
    words = len(re.findall(r"[A-Za-z]{2,}", text))
    return "zh" if han and (han >= 4 or han >= words) else "en"


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _number(word: str | None) -> int | None:
    if not word:
        return None
    if word.isdigit():
        return int(word)
    return CN_NUM.get(word) or EN_NUM.get(word)


class _Parse:
    """One question being parsed: the text with used parts blanked out, and what was found."""

    def __init__(self, question: str, as_of: dt.date, values: dict[Dimension, list[str]], lang: str):
        self.t = index_form(question)
        self.as_of, self.values, self.lang = as_of, values, lang
        self.unknown: list[str] = []
        self.notes: list[str] = []
        self.count: int | None = None  # a number put before a grouped dimension
        self.moves: list[tuple[int, int]] = []  # where the question says what fell or rose

    def use(self, start: int, end: int) -> None:
        self.t = _blank(self.t, start, end)

    def tr(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def metrics(self) -> list[Metric]:
        found: list[tuple[int, Metric]] = []
        for metric, pattern in METRIC_PATTERNS:
            for m in list(re.finditer(pattern, self.t)):
                found.append((m.start(), metric))
                self.use(*m.span())
        return list(dict.fromkeys(metric for _, metric in sorted(found, key=lambda x: x[0])))

    def compare(self) -> tuple[Compare | None, bool]:
        """(compare mode, said of quarters) from 同比 / 环比 / 比上月 / year over year / vs last month ...
        Read before the time phrases, so 比上月 and 去年同期 are not taken for the report's period."""
        mode: Compare | None = None
        quarterly = False
        for regex, found in ((_YEAR_OVER_YEAR, "previous_year"), (_PERIOD_OVER_PERIOD, "previous_period")):
            for m in list(regex.finditer(self.t)):
                mode = mode or found  # type: ignore[assignment]
                quarterly = quarterly or bool(_QUARTERLY.search(m[0]))
                self.use(*m.span())
        return mode, quarterly

    def direction(self) -> bool | None:
        """True when the question asks what rose (largest rise first), False for what fell, else None."""
        found: list[tuple[int, bool]] = []
        for regex, rise in ((_FALL, False), (_RISE, True)):
            for m in regex.finditer(self.t):
                found.append((m.start(), rise))
                self.moves.append(m.span())  # used after the dimensions: 降幅最大的3个坐席 groups by agent
        return min(found)[1] if found else None

    def period(self) -> Period | None:
        try:
            period, spans = parse_period(self.t, self.as_of)
        except ValueError as exc:
            self.unknown.append(str(exc))
            return None
        for span in spans:
            self.use(*span)
        return period

    def filters(self) -> list[Filter]:
        picked: dict[tuple[Dimension, bool], list[tuple[int, Any]]] = {}
        for field, value, pattern in FILTER_WORDS:
            for m in re.finditer(rf"(?<![a-z])(?:{pattern})(?![a-z])", self.t):
                self._pick(picked, field, value, m)
        for field, pairs in self._value_words().items():
            for value, words in pairs:
                for word in words:
                    for m in re.finditer(rf"(?<![a-z0-9]){re.escape(word)}(?:省|市)?(?![a-z0-9])", self.t):
                        self._pick(picked, field, value, m)
        for m in _AGENT_ID.finditer(self.t):
            self._pick(picked, Dimension.agent, m[1].upper(), m)
        out = []
        for (field, negated), vals in picked.items():
            vals = list(dict.fromkeys(value for _, value in sorted(vals, key=lambda pv: pv[0])))
            op = ("not_in" if len(vals) > 1 else "ne") if negated else ("in" if len(vals) > 1 else "eq")
            out.append(Filter(field=field, op=op, value=vals if len(vals) > 1 else vals[0]))
        return out

    def _pick(self, picked: dict[tuple[Dimension, bool], list[tuple[int, Any]]], field: Dimension, value: Any,
              m: re.Match[str]) -> None:
        if not self.t[m.start():m.end()].strip():
            return  # already used by a longer phrase
        negated = bool(_NEGATION.search(self.t[max(0, m.start() - 12):m.start()]))
        values = value if isinstance(value, list) else [value]
        picked.setdefault((field, negated), []).extend((m.start(), v) for v in values)
        self.use(*m.span())

    def _value_words(self) -> dict[Dimension, list[tuple[str, list[str]]]]:
        """Data values a question may name, with the words that name them (longest first)."""
        out: dict[Dimension, list[tuple[str, list[str]]]] = {}
        regions = self.values.get(Dimension.region) or list(PROVINCES)
        out[Dimension.region] = [(v, [index_form(v)] + ([PROVINCES[v]] if v in PROVINCES else [])) for v in regions]
        brands = self.values.get(Dimension.brand) or list(BRANDS)
        out[Dimension.brand] = [(v, [index_form(v)] + ([BRANDS[v]] if v in BRANDS else [])) for v in brands]
        for dim in (Dimension.plan, Dimension.channel, Dimension.scenario, Dimension.agent, Dimension.trainee):
            vals = [v for v in self.values.get(dim, []) if len(v) >= 3]
            out[dim] = [(v, list({index_form(v), index_form(v).replace("_", " ")})) for v in vals]
        for dim, pairs in out.items():
            out[dim] = sorted(pairs, key=lambda p: -max(len(w) for w in p[1]))
        return out

    def dimensions(self) -> list[Dimension]:
        if m := _COUNTED.search(self.t):  # "the 5 regions with the lowest ...", "前10名的坐席"
            self.count = _number(m[1])
        found: list[tuple[int, int, Dimension, tuple[int, int]]] = []
        for regex in (_DIM_ZH, _DIM_EN, _DIM_AFTER):
            for m in regex.finditer(self.t):
                start, end = m.span(m.lastgroup)
                found.append((start, end, Dimension(m.lastgroup), m.span()))
        accepted: list[tuple[int, int, Dimension, tuple[int, int]]] = []
        for start, end, dim, whole in sorted(found, key=lambda x: (x[0], -(x[1] - x[0]))):
            if all(end <= s or start >= e for s, e, _, _ in accepted):
                accepted.append((start, end, dim, whole))
        i = 0
        while i < len(accepted):  # 按价值等级和月份 / by tier and region: follow the chain
            m = _DIM_CHAIN.match(self.t, accepted[i][1])
            if m and all(m.end() <= s or m.start(m.lastgroup) >= e for s, e, _, _ in accepted):
                accepted.insert(i + 1, (m.start(m.lastgroup), m.end(), Dimension(m.lastgroup), m.span()))
            i += 1
        for _, _, _, (start, end) in accepted:
            self.use(start, end)
        dims = [dim for _, _, dim, _ in sorted(accepted, key=lambda x: x[0])]
        m = _TREND.search(self.t)
        if m:
            self.use(*m.span())
            dims.append(Dimension.month)
        return list(dict.fromkeys(dims))

    def ranking(self, metrics: list[Metric]) -> tuple[bool | None, int | None]:
        """(descending?, N) from top N / 前N / lowest / worst ... (read before the dimensions use the text)."""
        good_high = metrics[0] in HIGHER_IS_BETTER
        for regex, direction in ((_TOP, True), (_BOTTOM, False), (_BEST, good_high), (_WORST, not good_high)):
            m = regex.search(self.t)
            if m:
                return direction, _number(next((g for g in m.groups() if g), None))
        if _DESC.search(self.t):
            return True, None
        if _ASC.search(self.t):
            return False, None
        return None, None

    def sort(self, metrics: list[Metric], dims: list[Dimension], desc: bool | None,
             limit: int | None) -> tuple[Sort | None, int | None]:
        if desc is None:
            return None, None
        limit = limit or self.count
        if not dims:
            self.notes.append(self.tr("没有分组维度，忽略排序和前N", "no grouping to rank, so no sort or top N"))
            return None, None
        return Sort(by=metrics[0].value, desc=desc), limit

    def leftovers(self) -> None:
        for regex, template in ((_LEFT_BY_ZH, "按{}"), (_LEFT_BY_EN, "by {}")):
            for m in regex.finditer(self.t):
                if m[1].strip() not in ("the", "of", "and"):
                    self.unknown.append(template.format(m[1]))
        if m := _CHANGE.search(self.t):
            self.unknown.append(m[0])
            self.notes.append(self.tr("不能按变化幅度（不分升降）排序；可以问“下降最多”或“上升最多”",
                                      "cannot rank by the size of a change in either direction; ask what fell "
                                      "or rose the most"))
        if m := _WEEK.search(self.t):
            self.unknown.append(m[0])
            self.notes.append(self.tr("报表按月统计，不支持按周", "reports are monthly; weeks are not supported"))


def parse_question(question: str, *, as_of: dt.date | None = None, lang: str | None = None,
                   engine: Any = None) -> ParsedQuestion:
    """The ReportSpec a supervisor's question asks for, resolved against the data's `as_of` date."""
    language: Literal["zh", "en"] = lang if lang in ("zh", "en") else detect_lang(question)  # type: ignore[assignment]
    if as_of is None:
        as_of = engine.as_of() if engine is not None else dt.date.today()
    values = _data_values(engine)
    p = _Parse(question, as_of, values, language)
    metrics = p.metrics()
    compare, quarterly = p.compare()
    plain = p.t  # the question without its comparison phrase (与上月相比 is no 对比 of filter values)
    period = p.period()
    filters = p.filters()
    if not metrics:
        if any(f.field == Dimension.risk_label and f.value == "high" for f in filters):
            metrics = [Metric.high_risk_count]  # "高危客户按地区分布"
            filters = [f for f in filters if not (f.field == Dimension.risk_label and f.value == "high")]
        elif _PEOPLE.search(p.t):
            metrics = [Metric.subscribers]  # "subscribers by value tier and brand", "各品牌的客户"
        else:
            return ParsedQuestion(question=question, lang=language, message=capabilities(language))
    rise = p.direction()
    if rise is not None and compare is None:  # 哪个渠道的续约率下降了: against the previous period
        compare = "previous_period"
    desc, limit = p.ranking(metrics)
    dims = p.dimensions()
    for span in p.moves:
        p.use(*span)
    if _COMPARE.search(plain):  # 上海和北京的流失率对比: one row per value compared
        dims += [f.field for f in filters if f.op == "in" and f.field not in dims]
    dims = dims[:3]
    if compare is not None and Dimension.month in dims:
        p.notes.append(p.tr("按月显示时逐月对比，不再另算环比/同比", "a monthly breakdown shows the months side by side, "
                            "so no separate period comparison"))
        compare, rise = None, None
    if compare is not None and period is None and quarterly:  # 各渠道续约率比上季度: this quarter vs the last
        period = quarter_to_last_full_month(as_of, p.tr("本季度", "this quarter"))
        p.notes.append(p.tr(f"未指定期间，按季度对比：{period.start} – {period.end}",
                            f"no period named: comparing the quarter {period.start} – {period.end}"))
    if rise is not None:
        sort, limit = p.sort(metrics, dims, rise, limit)
        if sort is not None:
            sort = Sort(by=f"{metrics[0].value}_change", desc=rise)
    else:
        sort, limit = p.sort(metrics, dims, desc, limit)
    practice_only = all(m in TRAINING_METRICS for m in metrics)
    if period is None and practice_only:  # practice happens on the wall clock: every graded session
        p.notes.append(p.tr("未指定期间，统计全部已评分的练习", "no period named: every graded practice session"))
    elif Dimension.month in dims and period is None:
        y, m = add_months(as_of.year, as_of.month, -(TREND_MONTHS - 1))
        label = p.tr(f"近{TREND_MONTHS}个月", f"last {TREND_MONTHS} months")
        period = Period(start=dt.date(y, m, 1), end=as_of, label=label)
        p.notes.append(p.tr(f"未指定期间，按月趋势默认{label}", f"no period named: a monthly trend shows the {label}"))
    elif period is None:
        p.notes.append(p.tr("未指定期间，使用数据最近一个完整月份", "no period named: the latest complete month of the data"))
    p.leftovers()
    try:
        spec = ReportSpec(metrics=metrics[:6], dimensions=dims, filters=filters[:10], period=period, sort=sort,
                          limit=limit, lang=language, compare=compare)
    except ValidationError as exc:  # e.g. a period running backwards: say so rather than guess
        return ParsedQuestion(question=question, lang=language, unknown=p.unknown,
                              message=p.tr("无法理解这个问题：", "could not read this question: ") + str(exc.errors()[0]["msg"]))
    return ParsedQuestion(question=question, lang=language, spec=spec, unknown=list(dict.fromkeys(p.unknown)),
                          notes=p.notes)


def _data_values(engine: Any) -> dict[Dimension, list[str]]:
    if engine is None or not hasattr(engine, "dimension_values"):
        return {}
    out: dict[Dimension, list[str]] = {}
    for dim in (Dimension.region, Dimension.brand, Dimension.plan, Dimension.channel, Dimension.scenario,
                Dimension.agent, Dimension.trainee):
        try:
            out[dim] = [str(v) for v in engine.dimension_values(dim, limit=200) if v is not None and str(v).strip()]
        except Exception:  # a dimension the data lacks (no outcome log yet): the built-in words serve
            continue
    return out


def capabilities(lang: str) -> str:
    """What can be asked: the metrics and dimensions, with examples."""
    zh = lang == "zh"
    sep = "、" if zh else ", "
    metrics = sep.join(names[0 if zh else 1] for names in METRIC_NAMES.values())
    dims = sep.join(DIMENSION_LABELS[d]["zh" if zh else "en"] for d in Dimension)
    if zh:
        return (f"没有识别出要统计的指标。可以问的指标：{metrics}；可以按这些维度分组：{dims}；"
                "时间如 本月、上季度、近3个月、2025年7月。例如：“上季度各价值等级的流失率”、“本月挽留成功率前10的坐席”。")
    return (f"I could not find a metric in the question. Metrics: {metrics}. Group by: {dims}. Periods such as "
            "this month, last quarter, last 3 months, July 2025. For example: \"churn rate by value tier last "
            "quarter\" or \"top 10 agents by retention success this month\".")


def describe_spec(spec: ReportSpec, lang: str | None = None) -> str:
    """The spec in plain words, for the supervisor to check what was understood."""
    lang = lang or spec.lang
    zh = lang == "zh"
    names = [METRIC_NAMES[m][0 if zh else 1] for m in spec.metrics]
    dims = [DIMENSION_LABELS[d]["zh" if zh else "en"] for d in spec.dimensions]
    parts = [("、" if zh else ", ").join(names)]
    if dims:
        parts.append(("按" + "和".join(dims)) if zh else ("by " + " and ".join(dims)))
    for f in spec.filters:
        label = DIMENSION_LABELS[f.field]["zh" if zh else "en"]
        value = "/".join(map(str, f.value)) if isinstance(f.value, list) else str(f.value)
        parts.append(f"{label} {f.op} {value}")
    if spec.period:
        label = spec.period.label and (f"（{spec.period.label}）" if zh else f" ({spec.period.label})")
        parts.append(f"{spec.period.start} – {spec.period.end}{label}")
    else:
        parts.append("数据最近一个完整月份" if zh else "the latest complete month of the data")
    if spec.compare:
        parts.append(("环比（对比上一期）" if zh else "compared with the previous period") if spec.compare == "previous_period"
                     else ("同比（对比去年同期）" if zh else "compared with the same period last year"))
    if spec.sort:
        by = spec.sort.by
        if by in Metric.__members__:
            by = METRIC_NAMES[Metric(by)][0 if zh else 1]
        elif by.endswith("_change") and by[:-7] in Metric.__members__:
            name = METRIC_NAMES[Metric(by[:-7])][0 if zh else 1]
            by = f"{name}变化" if zh else f"the change in {name}"
        elif by.endswith("_previous") and by[:-9] in Metric.__members__:
            name = METRIC_NAMES[Metric(by[:-9])][0 if zh else 1]
            by = f"上期{name}" if zh else f"the previous {name}"
        elif by in Dimension.__members__:
            by = DIMENSION_LABELS[Dimension(by)]["zh" if zh else "en"]
        order = ("降序" if spec.sort.desc else "升序") if zh else ("descending" if spec.sort.desc else "ascending")
        parts.append(f"按{by}{order}" if zh else f"sorted by {by} {order}")
    if spec.limit:
        parts.append(f"前{spec.limit}" if zh else f"top {spec.limit}")
    return ("；" if zh else "; ").join(parts)


# --- evaluation ------------------------------------------------------------------------------

def comparable(spec: dict[str, Any]) -> dict[str, Any]:
    """The fields of a spec that decide whether a parse is right, in a canonical form."""
    def fval(v: Any) -> Any:
        return sorted(map(str, v)) if isinstance(v, list) else str(v)

    period = spec.get("period")
    sort = spec.get("sort")
    return {
        "metrics": sorted(str(m) for m in spec.get("metrics", [])),
        "dimensions": [str(d) for d in spec.get("dimensions", [])],
        "filters": sorted(json.dumps([str(f["field"]), f.get("op", "eq"), fval(f["value"])], ensure_ascii=False)
                          for f in spec.get("filters", [])),
        "period": [str(period["start"]), str(period["end"])] if period else None,
        "sort": [str(sort["by"]), bool(sort.get("desc", True))] if sort else None,
        "limit": spec.get("limit"),
        "compare": spec.get("compare"),
    }


def evaluate_questions(path: str | Path, engine: Any = None) -> dict[str, Any]:
    """Accuracy of the parser over a JSONL set of {id, question, as_of, expected}: exact on the fields that matter."""
    total, correct, failures = 0, 0, []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        total += 1
        parsed = parse_question(case["question"], as_of=dt.date.fromisoformat(case["as_of"]), engine=engine)
        got = comparable(parsed.spec.model_dump(mode="json")) if parsed.spec else None
        want = comparable(case["expected"])
        if got == want:
            correct += 1
        else:
            failures.append({"id": case.get("id"), "question": case["question"], "expected": want, "got": got})
    return {"total": total, "correct": correct, "accuracy": correct / total if total else 0.0, "failures": failures}
