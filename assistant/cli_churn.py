"""`retention churn train | evaluate | score | dispatch`: the churn model and the monthly work list."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# Before any OpenMP runtime loads: spinning threads make LightGBM crawl on a busy machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:
    from tools.schemas import ChurnEvaluation, ChurnRisk

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: RETENTION_DATA_DIR / settings)."),
]
MappingOption = Annotated[
    str | None, typer.Option("--mapping", "-m", help="Column mapping: ibm-telco, bigml or a YAML file.")
]
FoldsOption = Annotated[int, typer.Option("--folds", min=2, max=20, help="Stratified folds.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the fold split and the models.")]


def register(app: typer.Typer) -> None:
    """Add the `churn` command group to `app`."""
    churn = typer.Typer(help="Churn model: train, evaluate, score subscribers.", no_args_is_help=True)
    churn.command("train")(train)
    churn.command("evaluate")(evaluate)
    churn.command("score")(score)
    churn.command("dispatch")(dispatch)
    app.add_typer(churn, name="churn")


def _context(data_dir: Path | None) -> tuple[Any, Path, int]:
    """The subscriber store, the model directory and the thread count from the settings."""
    from assistant.config import get_settings
    from tools.subscribers import SubscriberStore

    settings = get_settings()
    root = data_dir or settings.data_dir
    if data_dir is None and settings.churn_model_dir is not None:
        model_dir = settings.churn_model_dir
    else:
        model_dir = root / "models" / "churn"
    return SubscriberStore(root), model_dir, settings.churn_threads


def _load(path: Path, mapping: str | None) -> Any:
    from assistant.cli import fail
    from tools.importers import load_frame

    if mapping is None:
        fail(f"--mapping is required with a data file ({path.name}): ibm-telco, bigml or a YAML file")
    return load_frame(path, mapping)


def train(
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled file to train on (default: the store).")
    ] = None,
    mapping: MappingOption = None,
    folds: FoldsOption = 5,
    seed: SeedOption = 42,
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Train the churn model (LightGBM vs logistic regression, chosen by CV PR-AUC) and save it."""
    from assistant.cli import emit_json, fail
    from knowledge.errors import RetentionError
    from tools.churn import train_churn_model, train_from_store

    store, model_dir, threads = _context(data_dir)
    try:
        if data is None:
            report = train_from_store(store, model_dir, folds, seed, threads)
        else:
            frame = _load(data, mapping)
            report = train_churn_model(frame, model_dir, None, folds, seed, threads,
                                       source=f"{data.name} ({mapping})")
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(report)
        return
    cv = report.cv[report.model]
    typer.echo(f"trained {report.model} on {report.n} subscribers ({report.positives} churners), "
               f"{report.features} features, {report.calibration} calibration, {report.seconds}s")
    for name, metrics in report.cv.items():
        typer.echo(f"  {name:9s} CV " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    typer.echo(f"saved to {report.model_dir} (PR-AUC {cv['pr_auc']:.3f})")


def evaluate(
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled file for stratified k-fold CV.")
    ] = None,
    train_file: Annotated[Path | None, typer.Option("--train", help="Hold-out: training file.")] = None,
    test_file: Annotated[Path | None, typer.Option("--test", help="Hold-out: test file.")] = None,
    mapping: MappingOption = None,
    folds: FoldsOption = 5,
    seed: SeedOption = 42,
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Evaluate the churn model: nested stratified k-fold on --data (or the store), or --train/--test."""
    from assistant.cli import emit_json, fail
    from knowledge.errors import RetentionError
    from tools.churn import evaluate_cv, evaluate_holdout

    if (train_file is None) != (test_file is None):
        fail("give both --train and --test for a hold-out evaluation")
    if data is not None and train_file is not None:
        fail("give either --data (cross-validation) or --train/--test (hold-out), not both")
    store, _, threads = _context(data_dir)
    try:
        if train_file is not None and test_file is not None:
            result = evaluate_holdout(_load(train_file, mapping), _load(test_file, mapping),
                                      folds=folds, seed=seed, threads=threads)
        elif data is not None:
            result = evaluate_cv(_load(data, mapping), folds, seed, threads=threads)
        else:
            usage = store.read_table("usage")
            result = evaluate_cv(store.read_table("subscribers"), folds, seed,
                                 usage if len(usage) else None, threads=threads)
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(result)
    else:
        _print_evaluation(result)


def _print_evaluation(result: ChurnEvaluation) -> None:
    how = f"{result.folds}-fold nested CV" if result.method == "nested_cv" else "hold-out"
    typer.echo(f"{how} on {result.n} rows ({result.positives} churners): model {result.model}")
    typer.echo(f"  ROC-AUC {result.roc_auc:.3f}  PR-AUC {result.pr_auc:.3f}  Brier {result.brier:.4f}  "
               f"precision@top10% {result.precision_at_top_decile:.3f}")
    for name, m in result.candidates.items():
        typer.echo(f"  {name:9s} ROC-AUC {m.roc_auc:.3f}  PR-AUC {m.pr_auc:.3f}  Brier {m.brier:.4f}")


def score(
    subscriber: Annotated[
        str | None, typer.Option("--subscriber", "-s", help="Subscriber id or mobile number.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Score every subscriber into --out.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Parquet file for --all.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Operator policy YAML.")] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Churn risk of one subscriber (--subscriber ID) or of all of them (--all --out FILE.parquet)."""
    from assistant.cli import emit_json, fail
    from assistant.config import get_settings
    from knowledge.errors import RetentionError
    from tools.churn import churn_risk
    from tools.churn_batch import score_all
    from tools.policy import load_policy

    if (subscriber is None) == (not all_):
        fail("give either --subscriber ID or --all --out FILE.parquet")
    if all_ and out is None:
        fail("--all needs --out FILE.parquet")
    store, model_dir, threads = _context(data_dir)
    try:
        rules = load_policy(policy or get_settings().policy_file)
        if all_:
            report = score_all(store, model_dir, out, rules, progress=progress, threads=threads)
            if json_output:
                emit_json(report)
            else:
                typer.echo(f"scored {report.rows} subscribers with {report.model} in {report.seconds}s "
                           f"-> {report.out}; bands {report.risk_bands}")
            return
        risk = churn_risk(store, subscriber, model_dir, rules)
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(risk)
    else:
        _print_risk(risk)


def _print_risk(risk: ChurnRisk) -> None:
    typer.echo(f"{risk.subscriber_id}: churn probability {risk.churn_probability:.1%} "
               f"({risk.risk_label}, model {risk.model})")
    typer.echo(f"  {risk.lifecycle_stage.zh} / {risk.value_tier.zh}; caps: {risk.cost_caps.rule}")
    for reason in risk.reasons:
        typer.echo(f"  + {reason.contribution:+.2f}  {reason.zh} / {reason.en}")


def dispatch(
    month: Annotated[str, typer.Option("--month", help="Dispatch month, e.g. 2026-07.")],
    team_size: Annotated[int, typer.Option("--team-size", min=1, max=500, help="Workers per agent team.")] = 40,
    per_day: Annotated[
        int, typer.Option("--per-worker-per-day", min=30, max=50, help="Work orders per worker per day (6.5).")
    ] = 40,
    out: Annotated[Path | None, typer.Option("--out", help="Write the work list (.parquet or .csv).")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Operator policy YAML.")] = None,
    data_dir: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """The month's work list by agent team: 6.5 triggers, no-repeat windows and daily capacity."""
    from assistant.cli import emit_json, fail
    from assistant.config import get_settings
    from knowledge.errors import RetentionError
    from tools.dispatch import plan_dispatch, write_worklist
    from tools.policy import load_policy

    store, _, _ = _context(data_dir)
    try:
        frame, summary = plan_dispatch(store, month, load_policy(policy or get_settings().policy_file),
                                       team_size=team_size, per_worker_per_day=per_day)
        if out is not None:
            summary.out = str(write_worklist(frame, out))
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(summary)
        return
    typer.echo(f"{summary.month}: {summary.total} work orders for {len(summary.by_team)} teams "
               f"(capacity {summary.capacity_per_team} per team over {summary.working_days} working days)")
    typer.echo("  by trigger: " + ", ".join(f"{k} {v}" for k, v in summary.by_trigger.items()))
    typer.echo("  skipped (no-repeat window): " + ", ".join(f"{k} {v}" for k, v in summary.skipped_no_repeat.items()))
    if summary.deferred_over_capacity:
        typer.echo(f"  deferred over capacity: {summary.deferred_over_capacity}")
    typer.echo(f"  routed to arrears collection: {summary.routed_to_collection}")
    if summary.out:
        typer.echo(f"  written to {summary.out}")
