"""Supervisor-report benchmark: a grouped report over 1,000,000 subscribers and 12 months of history.

Target (issue 7): churn rate + retention success rate + ARPU by value tier x month over the last quarter
under 1 s warm. The store (with its dispatch, outcome and leaver history) is generated once under
bench/out/reports-data (git-ignored) and reused; a churn model is trained on a sample and every
subscriber is scored into <data>/scores.parquet with the segmentation columns. Then the report runs
cold (a fresh engine: loads the tables) and warm (p50/p95 over several runs). If `tools.reports.nl`
exposes `evaluate_questions(path) -> dict` and bench/data/report_questions.jsonl exists, the NL
parsing accuracy is printed too.

    .venv/bin/python bench/reports.py [--rows 1000000] [--runs 20] [--threads 2] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before any OpenMP runtime loads
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ensure_data(data_dir: Path, rows: int, seed: int, threads: int, train_rows: int) -> dict:
    """Generate, train and score once; later runs reuse what is there."""
    from tools.churn import train_churn_model
    from tools.churn_batch import score_all
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(data_dir)
    marker = data_dir / "bench.json"
    info = json.loads(marker.read_text()) if marker.is_file() else {}
    if not (store.exists() and info.get("rows") == rows and info.get("history")):
        started = time.perf_counter()
        report = write_generated(store, rows, seed, progress=True)
        info = {"rows": rows, "seed": seed, "history": True, "usage_rows": report.usage_rows,
                "dispatch_rows": report.dispatch_rows, "outcome_rows": report.outcome_rows,
                "leaver_rows": report.leaver_rows, "generate_s": round(time.perf_counter() - started, 1)}
        marker.write_text(json.dumps(info))
    scores = data_dir / "scores.parquet"
    model_dir = data_dir / "models" / "churn"
    if not scores.is_file() or scores.stat().st_mtime < store.path("subscribers").stat().st_mtime:
        import pyarrow.dataset as ds

        started = time.perf_counter()
        sample = ds.dataset(store.path("subscribers")).head(train_rows).to_pandas()
        usage = ds.dataset(store.path("usage")).to_table(
            filter=ds.field("subscriber_id").isin(sample["subscriber_id"].tolist())).to_pandas()
        train_churn_model(sample, model_dir, usage, folds=3, seed=1, threads=threads)
        info["train_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        score_all(store, model_dir, scores, progress=True, threads=threads)
        info["score_s"] = round(time.perf_counter() - started, 1)
        marker.write_text(json.dumps(info))
    return info


def time_reports(data_dir: Path, runs: int, threads: int) -> dict:
    """Cold (first run of a fresh engine, tables loaded) and warm timings of the grouped report."""
    from tools.outcomes import OutcomeLog, default_database_url
    from tools.reports.engine import ReportEngine
    from tools.reports.spec import Period, ReportSpec
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(data_dir)
    log = OutcomeLog(default_database_url(data_dir))
    started = time.perf_counter()
    engine = ReportEngine(store, outcome_log=log, scores_path=data_dir / "scores.parquet", threads=threads)
    as_of = engine.as_of()
    load_s = time.perf_counter() - started
    month = as_of.year * 12 + as_of.month - 1 - 2  # the quarter: this month and the two before
    start = as_of.replace(year=month // 12, month=month % 12 + 1, day=1)
    spec = ReportSpec(metrics=["churn_rate", "retention_success_rate", "arpu"], dimensions=["value_tier", "month"],
                      period=Period(start=start, end=as_of, label="last quarter"))
    started = time.perf_counter()
    result = engine.run(spec)
    cold_s = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        engine.run(spec)
        warm.append(time.perf_counter() - started)
    others = {}
    for name, extra in {
        "renewal_by_channel_month": ReportSpec(metrics=["renewal_rate", "renewal_rate_next_month", "reach_rate"],
                                               dimensions=["channel", "month"], period=spec.period),
        "cost_by_agent_top10": ReportSpec(metrics=["retention_cost", "cost_per_retained", "contacts"],
                                          dimensions=["agent"], sort={"by": "retention_cost"}, limit=10,
                                          period=spec.period),
        "high_risk_by_region": ReportSpec(metrics=["high_risk_count", "mean_predicted_risk"], dimensions=["region"]),
    }.items():
        engine.run(extra)
        started = time.perf_counter()
        engine.run(extra)
        others[name] = round(time.perf_counter() - started, 3)
    warm.sort()
    return {
        "as_of": as_of.isoformat(), "rows_out": len(result.rows), "load_tables_s": round(load_s, 2),
        "cold_first_query_s": round(cold_s, 3), "cold_total_s": round(load_s + cold_s, 2),
        "warm_p50_s": round(statistics.median(warm), 3), "warm_p95_s": round(warm[int(0.95 * (len(warm) - 1))], 3),
        "warm_runs": runs, "other_reports_warm_s": others, "sample_rows": result.rows[:4],
    }


def nl_accuracy() -> dict | None:
    """The NL parser's accuracy on bench/data/report_questions.jsonl, when both exist."""
    questions = ROOT / "bench" / "data" / "report_questions.jsonl"
    try:
        from tools.reports import nl
    except ImportError:
        return None
    evaluate = getattr(nl, "evaluate_questions", None)
    if evaluate is None or not questions.is_file():
        return None
    return evaluate(questions)


def main() -> None:
    """Build or reuse the data, time the reports, print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "reports-data")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    info = ensure_data(args.data, args.rows, args.seed, args.threads, args.train_rows)
    figures = {"data": info, "report": time_reports(args.data, args.runs, args.threads)}
    accuracy = nl_accuracy()
    if accuracy is not None:
        figures["nl"] = accuracy
    figures["target_warm_under_1s"] = figures["report"]["warm_p95_s"] < 1.0
    print(json.dumps(figures, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
