"""Report exports: CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text correctly) and XLSX
(openpyxl: the report sheet plus a definitions sheet with each metric's definition and the spec)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tools.errors import InvalidInput
from tools.reports.charts import RATE_METRICS, column_label, value_label
from tools.reports.spec import Dimension, ReportResult, metric_of

BOM = "\ufeff"


def _header(result: ReportResult, lang: str) -> list[str]:
    return [column_label(c, lang) for c in result.columns]


def _display(column: str, value: Any, lang: str) -> Any:
    if column in Dimension.__members__:
        return value_label(column, value, lang) if value is not None else ""
    return "" if value is None else value


def to_csv(result: ReportResult, path: str | Path | None = None, lang: str | None = None) -> bytes:
    """The result as CSV bytes (UTF-8 with BOM), written to `path` when given."""
    lang = lang or result.spec.lang
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_header(result, lang))
    for row in result.rows:
        writer.writerow([_display(c, v, lang) for c, v in zip(result.columns, row)])
    data = (BOM + buffer.getvalue()).encode("utf-8")
    if path is not None:
        Path(path).write_bytes(data)
    return data


def to_xlsx(result: ReportResult, path: str | Path | None = None, lang: str | None = None) -> bytes:
    """The result as an XLSX workbook: the report, then a definitions sheet; written to `path` when given."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    lang = lang or result.spec.lang
    zh = lang == "zh"
    book = Workbook()
    sheet = book.active
    sheet.title = "报表" if zh else "report"
    sheet.append(_header(result, lang))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in result.rows:
        sheet.append([_display(c, v, lang) for c, v in zip(result.columns, row)])
    for index, column in enumerate(result.columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, len(str(sheet.cell(row=1, column=index).value)) * 2)
        metric = metric_of(column)  # a metric, or a comparison's <metric>_previous / <metric>_change
        if metric is not None:
            fmt = ("+0.0%;-0.0%;0.0%" if column.endswith("_change") else "0.0%") if metric in RATE_METRICS \
                else "#,##0.00"
            for cells in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cells[0].number_format = fmt
    sheet.freeze_panes = "A2"

    info = book.create_sheet("定义" if zh else "definitions")
    info.append(["指标" if zh else "metric", "名称" if zh else "name", "定义" if zh else "definition"])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for metric, text in result.definitions.items():
        info.append([metric, column_label(metric, lang), text])
    info.append([])
    for key, value in _about(result, zh):
        info.append([key, value])
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 28
    info.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _about(result: ReportResult, zh: bool) -> list[tuple[str, str]]:
    rows = [("问题" if zh else "question", result.question or ""),
            ("理解为" if zh else "interpreted as", result.interpretation),
            ("数据日期" if zh else "data as of", str(result.as_of or "")),
            ("规格" if zh else "spec", json.dumps(result.spec.model_dump(mode="json"), ensure_ascii=False))]
    return [(k, v) for k, v in rows if v]


def export(result: ReportResult, path: str | Path, lang: str | None = None) -> Path:
    """Write the result to `path` by its suffix: .csv, .xlsx or .png (the chart)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        to_csv(result, path, lang)
    elif suffix == ".xlsx":
        to_xlsx(result, path, lang)
    elif suffix == ".png":
        from tools.reports.charts import chart_for, render_png

        path.write_bytes(render_png(chart_for(result, lang), lang or result.spec.lang))
    else:
        raise InvalidInput(f"cannot export to {path.name}: use a .csv, .xlsx or .png file")
    return path
