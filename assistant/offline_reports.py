"""The offline engine's answer to a report question: the interpreted spec in plain words, a Markdown
table, the metric definitions and how to change the report, plus data for the web page's chart.

The offline engine calls `answer_report(self.kit, question, lang, self.allowed())`: through the turn's
Toolkit the run is role-checked and recorded in the tool trace (Services or a ReportEngine work too).
No fact is invented: every number in the text comes from the report engine's result.
"""

from __future__ import annotations

from typing import Any

from knowledge.errors import RetentionError
from tools.reports.charts import RATE_METRICS, column_label, value_label
from tools.reports.spec import Dimension, metric_of

MAX_TABLE_ROWS = 30


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def cell_text(column: str, value: Any, lang: str) -> str:
    """One result cell as people read it: labels for dimension values, %, pp for rate changes."""
    if column in Dimension.__members__:
        text = value_label(column, value, lang)
    elif value is None:
        text = "—"
    elif metric_of(column) in RATE_METRICS and column.endswith("_change"):  # percentage points
        text = _t(lang, f"{float(value) * 100:+.1f}个百分点", f"{float(value) * 100:+.1f} pp")
    elif metric_of(column) in RATE_METRICS:
        text = f"{float(value):.1%}"
    elif isinstance(value, float):
        text = f"{value:,.2f}"
    else:
        text = str(value)
    return text


def markdown_table(columns: list[str], rows: list[list[Any]], lang: str, total: int | None = None,
                   max_rows: int = MAX_TABLE_ROWS) -> str:
    """Rows as a Markdown table (the first `max_rows`), with a note when there are more."""
    head = "| " + " | ".join(column_label(c, lang) for c in columns) + " |"
    rule = "|" + "|".join("---" if c in Dimension.__members__ else "---:" for c in columns) + "|"
    body = ["| " + " | ".join(cell_text(c, v, lang).replace("|", "\\|") for c, v in zip(columns, row)) + " |"
            for row in rows[:max_rows]]
    lines = [head, rule, *body]
    total = len(rows) if total is None else total
    if total > min(max_rows, len(rows)):
        shown = min(max_rows, len(rows))
        lines.append(_t(lang, f"\n（共 {total} 行，此处显示前 {shown} 行；完整结果可导出 CSV/XLSX。）",
                        f"\n({total} rows; the first {shown} are shown. Export CSV/XLSX for all.)"))
    return "\n".join(lines)


def suggestions(spec: Any, lang: str) -> str:
    """Follow-up questions that change the report, based on what it has now."""
    dims = {d.value for d in spec.dimensions}
    zh = [("换成按地区" if "region" not in dims else "换成按价值等级"), "改成上个月", "只看高价值客户", "前5名"]
    en = [("by region instead" if "region" not in dims else "by value tier instead"), "last month instead",
          "only high-value subscribers", "top 5"]
    if "month" not in dims:
        zh.append("近6个月每月趋势")
        en.append("monthly over the last 6 months")
    items = zh if lang == "zh" else en
    return _t(lang, "想调整报表，可以在问题里加上：", "To change it, ask again with: ") + \
        ("、" if lang == "zh" else ", ").join(f"“{x}”" if lang == "zh" else f"\"{x}\"" for x in items)


def answer_report(engine_like: Any, question: str, lang: str, allowed_tools: set[str] | list[str]) -> tuple[str, dict]:
    """(Markdown answer, data with the report and its ChartSpec) for a supervisor's report question.

    `engine_like` is the turn's Toolkit (preferred: the run is role-checked and shows in the tool
    trace), the Services, or a ReportEngine.
    """
    lang = lang if lang in ("zh", "en") else "en"
    if "run_report" not in set(allowed_tools):
        text = _t(lang, "报表（KPI 统计）只对班组长和管理员开放。请联系你的班组长获取报表。",
                  "Reports (KPI statistics) are for supervisors and admins. Ask your supervisor for this report.")
        return text, {"problems": [{"tool": "run_report", "error": "not allowed for this role"}]}
    payload, error = _run(engine_like, question, lang)
    if error is not None:  # no metric in the question (the message lists what can be asked), no data
        return error, {"problems": [{"tool": "run_report", "error": error}]}
    return compose(payload, lang), {"report": payload}


def _run(engine_like: Any, question: str, lang: str) -> tuple[dict[str, Any], str | None]:
    if hasattr(engine_like, "execute") and "run_report" in getattr(engine_like, "specs", {}):
        result = engine_like.execute("run_report", {"question": question, "lang": lang})
        return (result.value, None) if result.ok else ({}, result.content.removeprefix("Error: "))
    from assistant.report_llm import build_report
    from assistant.tool_specs_reports import report_payload

    engine = getattr(engine_like, "services", engine_like)  # a Toolkit without run_report registered
    engine = getattr(engine, "report_engine", engine)
    try:
        return report_payload(build_report(engine, question=question, lang=lang), max_rows=500), None
    except RetentionError as exc:
        return {}, str(exc)


def compose(payload: dict[str, Any], lang: str) -> str:
    """The Markdown answer for a report payload: interpretation, table, definitions, how to change it."""
    from tools.reports.spec import ReportSpec

    parts = [_t(lang, "**理解为：**", "**Interpreted as:** ") + str(payload.get("interpretation") or "")]
    for note in payload.get("notes") or []:
        parts.append(_t(lang, "说明：", "Note: ") + note)
    if payload.get("unknown"):
        parts.append(_t(lang, "未能理解：", "Not understood: ") + ", ".join(payload["unknown"]))
    rows = payload.get("rows") or []
    if rows:
        parts.append(markdown_table(payload["columns"], rows, lang, total=payload.get("row_count")))
    else:
        parts.append(_t(lang, "没有符合条件的数据。", "No data matches this report."))
    definitions = payload.get("definitions") or {}
    if definitions:
        lines = [f"- {column_label(m, lang)}: {text}" for m, text in definitions.items()]
        parts.append(_t(lang, "**指标定义：**", "**Definitions:**") + "\n" + "\n".join(lines))
    if payload.get("as_of"):
        parts.append(_t(lang, f"数据截至 {payload['as_of']}。", f"Data as of {payload['as_of']}."))
    parts.append(suggestions(ReportSpec.model_validate(payload["spec"]), lang))
    return "\n\n".join(parts)
