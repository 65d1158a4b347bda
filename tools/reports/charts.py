"""Charts for report results: the kind is chosen from the result's shape, drawn by the web page from a
ChartSpec and rendered to PNG with matplotlib (Agg, imported on first use, never at import time).

Shape -> chart: no dimension -> table (a number); one categorical dimension -> bar; the month dimension
-> line over months (one line per value of a second dimension); two categorical dimensions -> stacked
bar for additive metrics (counts, cost) and grouped bar for rates; three dimensions -> table. A period
comparison (spec.compare) by one dimension -> grouped_bar: this period's bar beside the previous one's
for each value; a comparison with no or two dimensions -> table.

PNG text: with a CJK font installed (WenQuanYi, Noto Sans CJK, Source Han, ...) labels follow the
spec's language; without one, labels are English and Chinese data values are shown in pinyin where
known or as numbered codes, so a PNG never shows empty boxes.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from tools.reports.nl_lexicon import BRANDS, METRIC_NAMES, PROVINCES
from tools.reports.spec import DIMENSION_LABELS, ChartOut, ChartSpec, Dimension, Metric, ReportResult, metric_of

RATE_METRICS = {Metric.churn_rate, Metric.retention_success_rate, Metric.renewal_rate, Metric.renewal_rate_next_month,
                Metric.renewal_rate_month_after, Metric.reach_rate, Metric.silent_activation_rate,
                Metric.mean_predicted_risk}
ADDITIVE_METRICS = {Metric.high_risk_count, Metric.subscribers, Metric.contacts, Metric.retention_cost,
                    Metric.training_sessions}
CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
             "Source Han Sans CN", "SimHei", "Microsoft YaHei", "PingFang SC", "Droid Sans Fallback", "AR PL UMing CN")
CJK_FILES = ("wqy", "notosanscjk", "notoserifcjk", "sourcehan", "simhei", "msyh", "droidsansfallback", "uming", "ukai")
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "value_tier": {"high": ("高价值", "high"), "medium": ("中价值", "medium"), "low": ("低价值", "low"),
                   "group": ("集团", "group")},
    "risk_label": {"high": ("高危", "high"), "medium": ("中危", "medium"), "low": ("低危", "low"),
                   "stable": ("稳定", "stable"), "churned": ("已流失", "churned")},
    "lifecycle_stage": {"identification": ("识别期", "identification"), "growth": ("成长期", "growth"),
                        "stable": ("稳定期", "stable"), "warning": ("预警期", "warning"), "sunk": ("沉没期", "sunk")},
    "tenure_band": {"ultra_short": ("超短网龄", "ultra-short"), "short": ("短网龄", "short"),
                    "normal": ("中等网龄", "normal"), "long": ("长网龄", "long")},
    "plan": {"single": ("单产品", "single"), "converged": ("融合", "converged")},
    "channel": {"outbound_call": ("外呼", "outbound call"), "sms": ("短信", "SMS"), "store": ("营业厅", "store"),
                "app": ("APP", "app"), "wechat": ("微信", "WeChat"), "home_visit": ("上门", "home visit"),
                "email": ("邮件", "email")},
    "scenario": {"renewal": ("到期续约", "renewal"), "routine": ("常规维系", "routine"), "campus": ("校园", "campus"),
                 "silent": ("沉默激活", "silent"), "port_out": ("携号转网", "port-out"), "collection": ("欠费催缴", "collection"),
                 "new_customer": ("新入网", "new customer"), "complaint_recovery": ("投诉修复", "complaint recovery")},
}
MAX_BARS = 40  # more categories than this: the PNG shows the first ones (the table keeps every row)
_plot_lock = threading.Lock()  # pyplot's state is global


def metric_label(name: str, lang: str) -> str:
    """A metric's display name."""
    try:
        zh, en = METRIC_NAMES[Metric(name)]
    except ValueError:
        return name
    return zh if lang == "zh" else en


def column_label(name: str, lang: str) -> str:
    """A result column's display name (dimension, metric, or a comparison's `<metric>_previous` / `_change`)."""
    if name in Dimension.__members__:
        return DIMENSION_LABELS[Dimension(name)]["zh" if lang == "zh" else "en"]
    if name == "units":  # the engine's note on units among the definitions
        return "单位" if lang == "zh" else "units"
    if name == "comparison":  # the engine's note on a period comparison among the definitions
        return "对比" if lang == "zh" else "comparison"
    metric = metric_of(name)
    if metric is not None and name != metric.value:
        base = metric_label(metric.value, lang)
        if name.endswith("_previous"):
            return f"{base}（上期）" if lang == "zh" else f"{base} (previous)"
        return f"{base}变化" if lang == "zh" else f"{base} change"
    return metric_label(name, lang)


def value_label(dim: str, value: Any, lang: str) -> str:
    """A dimension value's display text (codes such as value tiers translated)."""
    names = VALUE_LABELS.get(dim, {}).get(str(value))
    return (names[0] if lang == "zh" else names[1]) if names else ("—" if value is None else str(value))


def chart_for(result: ReportResult, lang: str | None = None) -> ChartSpec:
    """The chart a result's shape calls for, with its data as records keyed by column."""
    spec = result.spec
    lang = lang or spec.lang
    dims = [d.value for d in spec.dimensions]
    metrics = [m.value for m in spec.metrics]
    data = [dict(zip(result.columns, row)) for row in result.rows]
    title = ("、" if lang == "zh" else ", ").join(metric_label(m, lang) for m in metrics)
    if dims:
        labels = [column_label(d, lang) for d in dims]
        title += ("（按" + "、".join(labels) + "）") if lang == "zh" else " by " + " and ".join(labels)
    if spec.period:
        first, last = f"{spec.period.start:%Y-%m}", f"{spec.period.end:%Y-%m}"
        title += f" {first}" + ("" if first == last else f"–{last}")
    if spec.compare:
        from tools.reports.compare import span_label

        periods: list[str] = []
        if result.period is not None and result.previous_period is not None:
            periods = [span_label(p.start, p.end) for p in (result.period, result.previous_period)]
            title = re.sub(r" \d{4}-\d{2}(?:–\d{4}-\d{2})?$", "", title) + f" {periods[0]} vs {periods[1]}"
        if len(dims) == 1:
            return ChartSpec(kind="grouped_bar", x=dims[0], y=metrics, title=title, data=data, compare=spec.compare,
                             periods=periods)
        return ChartSpec(kind="table", y=metrics, title=title, data=data, compare=spec.compare, periods=periods)
    if not dims or len(dims) > 2:
        return ChartSpec(kind="table", y=metrics, title=title, data=data)
    if "month" in dims:
        other = next((d for d in dims if d != "month"), None)
        return ChartSpec(kind="line", x="month", series=other, y=metrics, title=title, data=data)
    if len(dims) == 1:
        return ChartSpec(kind="bar", x=dims[0], y=metrics, title=title, data=data)
    stacked = all(Metric(m) in ADDITIVE_METRICS for m in metrics)
    return ChartSpec(kind="stacked_bar" if stacked else "bar", x=dims[0], series=dims[1],
                     y=metrics[:1] if stacked else metrics, title=title, data=data)


def with_chart(result: ReportResult, *, png_path: str | Path | None = None, png_base64: bool = False,
               lang: str | None = None) -> ReportResult:
    """A copy of `result` with its chart: the spec, and the PNG written to `png_path` and/or inlined."""
    chart = chart_for(result, lang)
    out = ChartOut(spec=chart)
    if png_path is not None or png_base64:
        png = render_png(chart, lang or result.spec.lang)
        if png_path is not None:
            Path(png_path).parent.mkdir(parents=True, exist_ok=True)
            Path(png_path).write_bytes(png)
            out.png_path = str(png_path)
        if png_base64:
            out.png_base64 = base64.b64encode(png).decode("ascii")
    return result.model_copy(update={"chart": out})


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font that has Chinese glyphs, or None."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    found = next((name for name in CJK_FONTS if name in {f.name for f in manager.ttflist}), None)
    if found is None:  # matplotlib's font cache predates a font installed later: add the files directly
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower() for key in CJK_FILES):
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = next((name for name in CJK_FONTS if name in {f.name for f in manager.ttflist}), None)
    return found


def _ascii(text: str, codes: dict[str, str]) -> str:
    """Text without Chinese characters: known provinces and brands in pinyin, others as numbered codes."""
    if text.isascii():
        return text
    known = {**PROVINCES, **BRANDS}
    if text in known:
        return known[text].title()
    return codes.setdefault(text, f"#{len(codes) + 1}")


def render_png(chart: ChartSpec, lang: str = "en") -> bytes:
    """The chart as PNG bytes (a table figure for kind 'table')."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt

    font = cjk_font()
    text_lang = lang if font else "en"
    codes: dict[str, str] = {}

    def label(text: str) -> str:
        return text if font else _ascii(text, codes)

    with _plot_lock, matplotlib.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                                            "axes.unicode_minus": False}):
        fig = _draw(plt, chart, text_lang, label)
        if codes:
            fig.text(0.01, 0.01, f"#1-#{len(codes)}: names in Chinese, shown by number (no Chinese font on this "
                                 "server); the table and the CSV/XLSX export carry the names", fontsize=7, color="#555")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    return buffer.getvalue()


def _draw(plt: Any, chart: ChartSpec, lang: str, label: Any) -> Any:
    metrics = chart.y or []
    title = label(chart.title) if lang != "en" or chart.title.isascii() else _english_title(chart)
    if chart.kind == "table" or not chart.x:
        return _table(plt, chart, lang, label, title)
    rows = chart.data[:MAX_BARS] if chart.kind != "line" else chart.data
    panels = metrics[:3] if chart.series is None else metrics[:1]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.4 * len(panels)), squeeze=False)
    for ax, metric in zip(axes[:, 0], panels):
        xs = list(dict.fromkeys(str(value_label(chart.x, r.get(chart.x), lang)) for r in rows))
        groups = (list(dict.fromkeys(r.get(chart.series) for r in rows)) if chart.series else [None])
        if chart.kind == "grouped_bar":  # this period, then the one it is compared with
            groups = [metric, f"{metric}_previous"]
        bottom = [0.0] * len(xs)
        for gi, group in enumerate(groups):
            values = [0.0] * len(xs)
            for r in rows:
                if chart.series is None or r.get(chart.series) == group:
                    v = r.get(group if chart.kind == "grouped_bar" else metric)
                    at = xs.index(str(value_label(chart.x, r.get(chart.x), lang)))
                    values[at] = float(v) if v is not None else 0.0
            name = label(value_label(chart.series, group, lang)) if chart.series else None
            if chart.kind == "grouped_bar":
                name = _period_name(chart, gi, lang)
            positions = list(range(len(xs)))
            if chart.kind == "line":
                ax.plot(positions, values, marker="o", label=name)
            elif chart.kind == "stacked_bar":
                ax.bar(positions, values, bottom=bottom, label=name)
                bottom = [b + v for b, v in zip(bottom, values)]
            else:
                width = 0.8 / len(groups)
                ax.bar([p - 0.4 + width * (gi + 0.5) for p in positions], values, width=width, label=name)
        ax.set_xticks(range(len(xs)))
        crowded = len(xs) > 6
        ax.set_xticklabels([label(x) for x in xs], rotation=45 if crowded else 0, ha="right" if crowded else "center")
        ax.set_ylabel(label(metric_label(metric, lang)))
        if Metric(metric) in RATE_METRICS:
            from matplotlib.ticker import PercentFormatter

            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        if chart.series:
            ax.legend(fontsize=8, title=label(column_label(chart.series, lang)))
        elif chart.kind == "grouped_bar":
            ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def _period_name(chart: ChartSpec, index: int, lang: str) -> str:
    """Legend text of a comparison's bars: 本期 / 上期 (去年同期) with the period."""
    zh = lang == "zh"
    names = ("本期" if zh else "this period",
             ("上期" if zh else "previous period") if chart.compare == "previous_period" else
             ("去年同期" if zh else "same period last year"))
    span = chart.periods[index] if len(chart.periods) > index else ""
    return f"{names[index]} {span}".strip()


def _english_title(chart: ChartSpec) -> str:
    dims = [d for d in (chart.x, chart.series) if d]
    text = ", ".join(metric_label(m, "en") for m in chart.y)
    found = re.search(r"\s(\d{4}-\d{2}(?:–\d{4}-\d{2})?)$", chart.title)
    period = f" {found[1]}" if found else ""
    if len(chart.periods) == 2:
        period = f" {chart.periods[0]} vs {chart.periods[1]}"
    return text + (" by " + " and ".join(column_label(d, "en") for d in dims) if dims else "") + period


def _table(plt: Any, chart: ChartSpec, lang: str, label: Any, title: str) -> Any:
    columns = list(chart.data[0].keys()) if chart.data else chart.y
    cells = [[label(_cell(r.get(c), c)) for c in columns] for r in chart.data[:25]] or [["—"] * len(columns)]
    fig, ax = plt.subplots(figsize=(max(4, 1.8 * len(columns)), 0.5 + 0.35 * (len(cells) + 1)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=[label(column_label(c, lang)) for c in columns], loc="center")
    table.scale(1, 1.3)
    ax.set_title(title)
    return fig


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "—"
    metric = metric_of(column)
    if metric in RATE_METRICS and isinstance(value, (int, float)):
        return f"{value:+.1%}" if column.endswith("_change") else f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
