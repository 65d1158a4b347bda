"""Charts chosen by a result's shape, PNGs without missing glyphs, CSV with BOM and XLSX with definitions,
and `retention report` on a generated store."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tools.reports import charts
from tools.reports.spec import METRIC_DEFINITIONS, Metric, Period, ReportResult, ReportSpec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def result(metrics, dims, rows, lang="en", period=None) -> ReportResult:
    spec = ReportSpec(metrics=metrics, dimensions=dims, lang=lang, period=period)
    return ReportResult(spec=spec, columns=dims + metrics, rows=rows,
                        definitions={m: METRIC_DEFINITIONS[Metric(m)][lang] for m in metrics})


def test_chart_kind_follows_the_shape_of_the_result():
    number = result(["churn_rate"], [], [[0.031]])
    bars = result(["churn_rate"], ["region"], [["江苏", 0.04], ["广东", 0.03]])
    months = result(["churn_rate"], ["month"], [["2025-10", 0.02], ["2025-11", 0.03]])
    by_month = result(["churn_rate"], ["value_tier", "month"], [["high", "2025-10", 0.02], ["low", "2025-10", 0.05]])
    stacked = result(["subscribers"], ["value_tier", "brand"], [["high", "如意通", 5], ["high", "世界风", 7]])
    grouped = result(["churn_rate"], ["value_tier", "brand"], [["high", "如意通", 0.05]])
    kinds = {name: charts.chart_for(r) for name, r in
             dict(number=number, bars=bars, months=months, by_month=by_month, stacked=stacked, grouped=grouped).items()}
    assert kinds["number"].kind == "table"
    assert (kinds["bars"].kind, kinds["bars"].x) == ("bar", "region")
    assert (kinds["months"].kind, kinds["months"].x) == ("line", "month")
    assert (kinds["by_month"].kind, kinds["by_month"].x, kinds["by_month"].series) == ("line", "month", "value_tier")
    assert (kinds["stacked"].kind, kinds["stacked"].series) == ("stacked_bar", "brand")
    assert kinds["grouped"].kind == "bar" and kinds["grouped"].series == "brand"
    assert kinds["bars"].data == [{"region": "江苏", "churn_rate": 0.04}, {"region": "广东", "churn_rate": 0.03}]


def test_importing_the_chart_module_does_not_load_matplotlib():
    code = "import sys, tools.reports.charts, tools.reports.export; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _render_without_missing_glyphs(chart, lang) -> bytes:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.render_png(chart, lang)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message).lower()]
    assert not missing, missing
    return png


def test_png_in_chinese_with_the_cjk_font_or_ascii_labels_without_one(monkeypatch):
    r = result(["churn_rate"], ["region", "month"], [["江苏", "2025-10", 0.04], ["火星", "2025-11", 0.03]], lang="zh",
               period=Period(start=dt.date(2025, 10, 1), end=dt.date(2025, 11, 30)))
    chart = charts.chart_for(r)
    assert _render_without_missing_glyphs(chart, "zh").startswith(PNG_MAGIC)
    # No CJK font at all: English labels, pinyin for known provinces, codes for the rest; still no boxes.
    charts.cjk_font.cache_clear()
    monkeypatch.setattr(charts, "CJK_FONTS", ())
    try:
        assert charts.cjk_font() is None
        assert _render_without_missing_glyphs(chart, "zh").startswith(PNG_MAGIC)
        assert charts._ascii("江苏", {}) == "Jiangsu"
    finally:
        charts.cjk_font.cache_clear()


def test_with_chart_writes_the_png_and_inlines_base64(tmp_path):
    r = result(["subscribers"], ["value_tier", "brand"], [["high", "如意通", 5], ["low", "世界风", 7]])
    out = charts.with_chart(r, png_path=tmp_path / "c.png", png_base64=True)
    assert Path(out.chart.png_path).read_bytes().startswith(PNG_MAGIC)
    assert base64.b64decode(out.chart.png_base64) == Path(out.chart.png_path).read_bytes()
    assert out.chart.spec.kind == "stacked_bar"


def test_csv_has_a_bom_and_localised_headers(tmp_path):
    from tools.reports.export import to_csv

    r = result(["churn_rate"], ["value_tier"], [["high", 0.05], ["low", 0.1]], lang="zh")
    data = to_csv(r, tmp_path / "r.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "价值等级,流失率" and "高价值,0.05" in text


def test_xlsx_has_the_report_and_a_definitions_sheet(tmp_path):
    from openpyxl import load_workbook

    from tools.reports.export import export

    r = result(["churn_rate", "arpu"], ["region"], [["江苏", 0.05, 52.5]])
    r = r.model_copy(update={"question": "churn rate and ARPU by region", "interpretation": "churn rate, ARPU by region"})
    path = export(r, tmp_path / "r.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["report", "definitions"]
    report = book["report"]
    assert [c.value for c in report[1]] == ["region", "churn rate", "ARPU"]
    assert report["B2"].value == 0.05 and report["B2"].number_format == "0.0%"
    defs = {row[0]: row[2] for row in book["definitions"].iter_rows(values_only=True) if row and row[0]}
    assert defs["churn_rate"] == METRIC_DEFINITIONS[Metric.churn_rate]["en"]
    assert defs["question"] is None or "question" in defs


def test_export_refuses_other_suffixes(tmp_path):
    from tools.errors import InvalidInput
    from tools.reports.export import export

    with pytest.raises(InvalidInput, match="csv"):
        export(result(["arpu"], [], [[1.0]]), tmp_path / "r.pdf")


# --- the command, on a generated store -------------------------------------------------------

@pytest.fixture(scope="module")
def report_data_dir(tmp_path_factory) -> Path:
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    data_dir = tmp_path_factory.mktemp("report-data")
    write_generated(SubscriberStore(data_dir), rows=300, seed=7, progress=False)
    return data_dir


@pytest.fixture()
def report_env(monkeypatch, report_data_dir):
    import assistant.services as services
    from assistant.config import get_settings

    monkeypatch.setenv("RETENTION_DATA_DIR", str(report_data_dir))
    monkeypatch.delenv("RETENTION_LLM_BASE_URL", raising=False)
    get_settings.cache_clear()
    monkeypatch.setattr(services, "_services", None)
    yield report_data_dir
    get_settings.cache_clear()


def test_report_json_is_one_document_with_chart_and_definitions(runner, report_env, tmp_path):
    from assistant.cli import app

    out = runner.invoke(app, ["report", "上季度各价值等级的流失率", "--json", "--out", str(tmp_path / "r.png")])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert set(body) >= {"spec", "columns", "rows", "definitions", "chart", "interpretation", "as_of", "parser"}
    assert body["columns"] == ["value_tier", "churn_rate"] and body["rows"]
    assert body["spec"]["period"]["start"] == "2025-07-01" and body["parser"] == "offline"
    assert body["chart"]["spec"]["kind"] == "bar"
    assert Path(body["chart"]["png_path"]).read_bytes().startswith(PNG_MAGIC)


def test_report_from_a_spec_file_and_exports(runner, report_env, tmp_path):
    from assistant.cli import app

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"metrics": ["subscribers"], "dimensions": ["brand"]}), encoding="utf-8")
    out = runner.invoke(app, ["report", "--spec", str(spec), "--out", str(tmp_path / "r.xlsx")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r.xlsx").is_file() and "subscribers" in out.stdout
    out = runner.invoke(app, ["report", "churn rate by region", "--out", str(tmp_path / "r.csv"), "--no-chart"])
    assert out.exit_code == 0 and (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_report_errors_are_one_line(runner, report_env, tmp_path):
    from assistant.cli import app

    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"metrics": ["profit"]}), encoding="utf-8")
    out = runner.invoke(app, ["report", "--spec", str(spec)])
    assert out.exit_code == 1 and "churn_rate" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = runner.invoke(app, ["report", "what's the weather", "--json"])
    assert out.exit_code == 1 and out.stdout == "" and out.stderr.startswith("error: ")


def test_a_period_comparison_draws_grouped_bars_and_exports_every_column(tmp_path):
    from openpyxl import load_workbook

    from tools.reports.export import to_csv, to_xlsx

    spec = ReportSpec(metrics=["renewal_rate", "retention_cost"], dimensions=["channel"], lang="zh",
                      compare="previous_period", sort={"by": "renewal_rate_change", "desc": False},
                      period=Period(start=dt.date(2025, 11, 1), end=dt.date(2025, 11, 30)))
    columns = ["channel", "renewal_rate", "renewal_rate_previous", "renewal_rate_change",
               "retention_cost", "retention_cost_previous", "retention_cost_change"]
    rows = [["sms", 0.1, 0.25, -0.15, 5.0, 1.0, 4.0], ["outbound_call", 0.2, 0.21, -0.01, 64.0, 75.0, -11.0],
            ["home_visit", None, 0.3, None, 11.0, None, None]]
    r = ReportResult(spec=spec, columns=columns, rows=rows, definitions={"renewal_rate": "x", "comparison": "y"},
                     period=spec.period, previous_period=Period(start=dt.date(2025, 10, 1), end=dt.date(2025, 10, 31)))
    chart = charts.chart_for(r)
    assert (chart.kind, chart.x, chart.series, chart.compare) == ("grouped_bar", "channel", None, "previous_period")
    assert chart.y == ["renewal_rate", "retention_cost"] and chart.periods == ["2025-11", "2025-10"]
    assert "2025-11 vs 2025-10" in chart.title and chart.data[0]["renewal_rate_previous"] == 0.25
    assert _render_without_missing_glyphs(chart, "zh").startswith(PNG_MAGIC)
    assert _render_without_missing_glyphs(charts.chart_for(r, "en"), "en").startswith(PNG_MAGIC)
    assert charts.chart_for(r.model_copy(update={"spec": spec.model_copy(update={"dimensions": []})})).kind == "table"
    text = to_csv(r).decode("utf-8-sig")
    assert text.splitlines()[0] == "接触渠道,当月续约率,当月续约率（上期）,当月续约率变化,维系成本,维系成本（上期）,维系成本变化"
    assert "短信,0.1,0.25,-0.15,5.0,1.0,4.0" in text and "上门,,0.3,,11.0,," in text
    sheet = load_workbook(to_xlsx(r, tmp_path / "r.xlsx", lang="en") and tmp_path / "r.xlsx")["report"]
    assert [c.value for c in sheet[1]] == ["contact channel", "same-month renewal rate",
                                           "same-month renewal rate (previous)", "same-month renewal rate change",
                                           "retention cost", "retention cost (previous)", "retention cost change"]
    assert sheet["C2"].number_format == "0.0%" and sheet["D2"].value == -0.15 and "%" in sheet["D2"].number_format
    assert sheet["G2"].number_format == "#,##0.00"
    assert charts.column_label("comparison", "zh") == "对比"
