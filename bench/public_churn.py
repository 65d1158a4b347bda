"""Churn model on the public telecom churn files, through the shipped mappings (issue 3 targets).

Published baselines: IBM "Telco Customer Churn" logistic regression ROC-AUC about 0.84 (cross-
validated); Orange/BigML tree ensembles about 0.92 on the 20% hold-out (churn-bigml-20.csv). The
files are not part of the project (fetch them yourself); give the paths you have:

    .venv/bin/python bench/public_churn.py --ibm WA_Fn-UseC_-Telco-Customer-Churn.csv \
        --bigml-train churn-bigml-80.csv --bigml-test churn-bigml-20.csv [--folds 5 --seed 42]

Prints one JSON document: for each file, the `retention churn evaluate` metrics (nested stratified
k-fold for IBM and for BigML-80, hold-out for BigML 80 -> 20), both candidates' figures, the model
chosen, the import report (rows, rejects, warnings) and the seconds taken.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before any OpenMP runtime loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS = ("roc_auc", "pr_auc", "brier", "precision_at_top_decile", "n", "positives", "model")


def summary(result, started: float) -> dict:  # noqa: ANN001
    data = result.model_dump()
    out = {k: round(data[k], 4) if isinstance(data[k], float) else data[k] for k in KEYS}
    out["candidates"] = {k: {m: round(v, 4) for m, v in c.items()} for k, c in data["candidates"].items()}
    if data.get("selected_per_fold"):
        out["selected_per_fold"] = data["selected_per_fold"]
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def imported(path: Path, mapping: str) -> dict:
    from tools.importers import import_file

    report = import_file(path, mapping)
    return {"rows_read": report.rows_read, "rows_imported": report.rows_imported,
            "rejected": report.rejected_count, "warnings": report.warnings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ibm", type=Path, help="WA_Fn-UseC_-Telco-Customer-Churn.csv")
    parser.add_argument("--bigml-train", type=Path, help="churn-bigml-80.csv")
    parser.add_argument("--bigml-test", type=Path, help="churn-bigml-20.csv")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="0 = every core")
    args = parser.parse_args()
    if not (args.ibm or args.bigml_train):
        parser.error("give --ibm and/or --bigml-train (with --bigml-test for the hold-out)")

    from tools.churn import evaluate_cv, evaluate_holdout
    from tools.importers import load_frame

    threads = args.threads or None
    figures: dict[str, dict] = {}
    if args.ibm:
        started = time.perf_counter()
        frame = load_frame(args.ibm, "ibm-telco")
        figures["ibm_telco_cv"] = summary(evaluate_cv(frame, args.folds, args.seed, threads=threads), started)
        figures["ibm_telco_cv"]["import"] = imported(args.ibm, "ibm-telco")
    if args.bigml_train:
        started = time.perf_counter()
        train = load_frame(args.bigml_train, "bigml")
        figures["bigml_80_cv"] = summary(evaluate_cv(train, args.folds, args.seed, threads=threads), started)
        figures["bigml_80_cv"]["import"] = imported(args.bigml_train, "bigml")
        if args.bigml_test:
            started = time.perf_counter()
            test = load_frame(args.bigml_test, "bigml")
            figures["bigml_holdout_80_20"] = summary(
                evaluate_holdout(train, test, folds=args.folds, seed=args.seed, threads=threads), started)
    print(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
