"""`retention data generate` and `retention data import`: fill the subscriber store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: RETENTION_DATA_DIR / settings)."),
]


def register(app: typer.Typer) -> None:
    """Add the `data` command group to `app`."""
    data = typer.Typer(
        help="Subscriber data: generate a synthetic base or import a real churn file.",
        no_args_is_help=True,
    )
    data.command("generate")(generate)
    data.command("import")(import_)
    app.add_typer(data, name="data")


def _store(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from assistant.config import get_settings
    from tools.subscribers import SubscriberStore

    return SubscriberStore(data_dir or get_settings().data_dir)


def generate(
    rows: Annotated[int, typer.Option("--rows", min=1, help="Number of subscribers.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 42,
    months: Annotated[int, typer.Option("--months", min=3, max=36, help="Months of usage.")] = 12,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Snapshot date YYYY-MM-DD (default 2025-12-31).")
    ] = None,
    data_dir: DataDirOption = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Generate a seeded synthetic subscriber base with usage history and churn labels."""
    from assistant.cli import emit_json
    from tools.errors import InvalidInput
    from tools.generate import write_generated

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise InvalidInput(f"--as-of must be a date like 2025-12-31, not {as_of!r}") from exc
    report = write_generated(_store(data_dir), rows, seed, months, day, progress=progress)
    if json_output:
        emit_json(report)
        return
    typer.echo(
        f"generated {report.rows:,} subscribers and {report.usage_rows:,} usage months "
        f"in {report.seconds:.1f} s; churn rate {report.churn_rate:.1%}"
    )
    typer.echo(f"written to {report.files['subscribers'].parent}")


def import_(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file to import.")],
    mapping: Annotated[
        str, typer.Option("--mapping", "-m", help="Built-in mapping (ibm-telco, bigml) or a YAML path.")
    ],
    data_dir: DataDirOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file, write nothing.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Import a churn data file through a column mapping; bad rows are listed with reasons."""
    from assistant.cli import emit_json
    from tools.errors import InvalidInput
    from tools.importers import import_file

    report = import_file(file, mapping)
    if report.rows_imported == 0:
        first = "; ".join(report.rejected[0].reasons) if report.rejected else "the file has no rows"
        raise InvalidInput(
            f"none of the {report.rows_read} rows of {file.name} could be imported ({first}); "
            "nothing was written"
        )
    if not dry_run:
        report.files = _store(data_dir).write(report.frames)
    if json_output:
        emit_json(report)
        return
    typer.echo(
        f"{file.name}: {report.rows_imported:,} of {report.rows_read:,} rows imported "
        f"with mapping {report.mapping}" + (" (dry run, nothing written)" if dry_run else "")
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    for rejected in report.rejected[:20]:
        typer.echo(f"rejected row {rejected.row}: {'; '.join(rejected.reasons)}")
    if report.rejected_count > 20:
        typer.echo(f"... and {report.rejected_count - 20} more rejected rows (use --json for all)")
