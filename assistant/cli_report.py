"""`retention report "QUESTION"` and `retention report --spec FILE.json`: a supervisor report with a chart.

`--json` prints the ReportResult ({spec, columns, rows, definitions, chart: {png_path, spec}, ...});
`--out` writes a .csv (UTF-8 with BOM), .xlsx (with a definitions sheet) or .png file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    """Add the `report` command to `app`."""
    app.command("report")(report_command)


def spec_error(exc: Exception) -> str:
    """One line naming what is wrong in a spec and the valid names."""
    from tools.reports.spec import valid_fields

    errors = exc.errors()[:3]  # type: ignore[attr-defined]
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in errors)
    valid = valid_fields()
    return (f"invalid report spec: {problems}. Valid metrics: {', '.join(valid['metrics'])}; "
            f"dimensions: {', '.join(valid['dimensions'])}; filter ops: {', '.join(valid['filter_ops'])}")


def report_command(
    question: Annotated[str | None, typer.Argument(help="The question, e.g. \"上季度各价值等级的流失率\".")] = None,
    spec_file: Annotated[Path | None, typer.Option("--spec", help="A ReportSpec JSON file, not a question.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write FILE.csv, FILE.xlsx or FILE.png.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en (default: the question's).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Resolve 'last month' etc. from this date.")] = None,
    no_chart: Annotated[bool, typer.Option("--no-chart", help="Skip the PNG chart.")] = False,
) -> None:
    """KPIs by dimension for a period, from a question (zh or en) or a spec; table, chart and exports."""
    from pydantic import ValidationError

    from assistant.cli import emit_json, fail
    from assistant.report_llm import build_report, spec_from_json
    from assistant.services import get_services
    from knowledge.errors import RetentionError
    from tools.reports.charts import with_chart
    from tools.reports.export import export

    if (question is None) == (spec_file is None):
        fail('give a question ("churn rate by value tier last quarter") or --spec FILE.json, not both')
    if lang not in (None, "zh", "en"):
        fail("--lang must be zh or en")
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx", ".png"):
        fail(f"--out {out.name}: use a .csv, .xlsx or .png file")
    try:
        reference = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    services = get_services()
    try:
        spec = None
        if spec_file is not None:
            try:
                spec = spec_from_json(spec_file.read_text(encoding="utf-8"))
            except OSError as exc:
                fail(f"cannot read {spec_file}: {exc.strerror or exc}")
        engine = services.report_engine
        result = build_report(engine, question=question, spec=spec, lang=lang, as_of=reference,
                              settings=services.settings)
        png = None
        if not no_chart:
            png = out if out is not None and out.suffix.lower() == ".png" else _default_png(services.settings.data_dir)
        result = with_chart(result, png_path=png)
        if out is not None and out.suffix.lower() != ".png":
            export(result, out, lang)
    except ValidationError as exc:
        fail(spec_error(exc))
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(result)
        return
    show(result, out)


def _default_png(data_dir: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return data_dir / "reports" / f"report-{stamp}.png"


def show(result: Any, out: Path | None) -> None:
    """The result as a rich table, with the interpretation, definitions and where the files went."""
    from rich.console import Console
    from rich.table import Table

    from assistant.offline_reports import cell_text
    from tools.reports.charts import column_label
    from tools.reports.spec import Dimension

    lang = result.spec.lang
    zh = lang == "zh"
    console = Console()
    table = Table(title=result.chart.spec.title if result.chart else None)
    for column in result.columns:
        table.add_column(column_label(column, lang), justify="left" if column in Dimension.__members__ else "right")
    for row in result.rows:
        table.add_row(*(cell_text(column, value, lang) for column, value in zip(result.columns, row)))
    console.print(table)
    if not result.rows:
        console.print("没有符合条件的数据。" if zh else "No data matches this report.")
    console.print(("理解为：" if zh else "Interpreted as: ") + result.interpretation, markup=False)
    for note in result.notes:
        console.print(("说明：" if zh else "Note: ") + note, markup=False)
    if result.unknown:
        console.print(("未能理解：" if zh else "Not understood: ") + ", ".join(result.unknown), markup=False)
    for metric, text in result.definitions.items():
        console.print(f"{column_label(metric, lang)}: {text}", markup=False, style="dim")
    if result.chart and result.chart.png_path:
        console.print(("图表：" if zh else "Chart: ") + result.chart.png_path, markup=False)
    if out is not None and out.suffix.lower() != ".png":
        console.print(("已导出：" if zh else "Exported: ") + str(out), markup=False)
