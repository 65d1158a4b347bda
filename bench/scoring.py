"""Churn scoring benchmark: features + scoring of 1M subscribers, training on 200k, one warm lookup.

Targets (issue 3): features + scoring of 1,000,000 generated subscribers under 10 s on 2 cores
with peak memory under 4 GB; training on 200,000 rows under 2 minutes; one `churn score`
lookup under 50 ms warm. The generated store is cached under the temp dir (or --cache) and
reused. The scoring step runs in a fresh child process so that its peak RSS (VmHWM) is its own.

    .venv/bin/python bench/scoring.py [--rows 1000000] [--train-rows 200000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before any OpenMP runtime loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_store(root: Path, rows: int, seed: int) -> dict:
    """Generate the subscriber store once; later runs reuse it."""
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(root)
    marker = root / "bench.json"
    if store.exists() and marker.is_file() and json.loads(marker.read_text())["rows"] == rows:
        return {"generated": False, **json.loads(marker.read_text())}
    started = time.perf_counter()
    report = write_generated(store, rows, seed, progress=True)
    info = {"rows": rows, "seed": seed, "usage_rows": report.usage_rows,
            "generate_s": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(info))
    return {"generated": True, **info}


def train(root: Path, model_dir: Path, train_rows: int, threads: int) -> dict:
    """Train (5-fold selection + calibration + refit) on the first `train_rows` subscribers."""
    import pyarrow.dataset as ds

    from tools.churn import train_churn_model
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(root)
    started = time.perf_counter()
    subs = store.read_table("subscribers").head(train_rows)
    ids = subs["subscriber_id"].astype(str).tolist()
    table = ds.dataset(store.path("usage")).to_table(filter=ds.field("subscriber_id").isin(ids))
    from tools.subscriber_schema import USAGE_COLUMNS, conform

    usage = conform(table.to_pandas(), USAGE_COLUMNS)
    load_s = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    report = train_churn_model(subs, model_dir, usage, folds=5, seed=42, threads=threads, source="bench")
    return {"train_rows": train_rows, "train_load_s": round(load_s, 2),
            "train_s": round(time.perf_counter() - started, 1),
            "train_cpu_s": round(time.process_time() - cpu, 1), "model": report.model, "cv": report.cv}


def score_child(root: Path, model_dir: Path, threads: int) -> dict:
    """In a fresh process: read the tables, then features + scoring of every subscriber."""
    from tools.churn import read_scoring_tables
    from tools.churn_batch import iter_scores
    from tools.model_files import load_model
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(root)
    model = load_model(model_dir, threads)
    started, cpu = time.perf_counter(), time.process_time()
    read_scoring_tables(store)
    read_s = time.perf_counter() - started
    read_cpu = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    total, n = 0.0, 0
    for scores in iter_scores(store, model, progress=False):  # reads again, then features + scores
        total += float(scores["churn_probability"].sum())
        n += len(scores)
    elapsed = time.perf_counter() - started - read_s
    cpu_s = time.process_time() - cpu - read_cpu  # minus the second read (about as long as the first)
    return {"subscribers": n, "read_s": round(read_s, 2), "features_and_scoring_s": round(elapsed, 2),
            "features_and_scoring_cpu_s": round(cpu_s, 2),
            "mean_probability": round(total / n, 4), "peak_rss_mb": round(peak_rss_mb())}


def score_all_child(root: Path, model_dir: Path, threads: int, out: Path) -> dict:
    """In a fresh process: `retention churn score --all` end to end (read, score, write Parquet)."""
    from tools.churn_batch import score_all
    from tools.subscribers import SubscriberStore

    report = score_all(SubscriberStore(root), model_dir, out, progress=False, threads=threads)
    return {"score_all_s": report.seconds, "peak_rss_mb": round(peak_rss_mb())}


def lookup(root: Path, model_dir: Path, n: int = 30) -> dict:
    """One `churn score --subscriber` lookup: first (cold) and median of the next ones (warm)."""
    from tools.churn import churn_risk
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(root)
    started = time.perf_counter()
    churn_risk(store, "S000000001", model_dir)
    cold = time.perf_counter() - started
    times = []
    cpu = time.process_time()
    for i in range(n):
        sid = f"S{(i * 33_331 + 17) % 1_000_000:09d}"
        started = time.perf_counter()
        churn_risk(store, sid, model_dir)
        times.append(time.perf_counter() - started)
    cpu_ms = (time.process_time() - cpu) / n * 1000
    return {"lookup_cold_ms": round(cold * 1000, 1),
            "lookup_warm_ms": round(statistics.median(times) * 1000, 1),
            "lookup_warm_p90_ms": round(sorted(times)[int(0.9 * n)] * 1000, 1),
            "lookup_warm_cpu_ms": round(cpu_ms, 1)}


def _child(step: str, *args: str) -> dict:
    cmd = [sys.executable, __file__, "--child", step, *args]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every step and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "retention-bench")
    parser.add_argument("--skip-train", action="store_true", help="Reuse the model already trained.")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, root, model_dir, threads, *rest = args.child
        fn = {"score": score_child, "score_all": score_all_child}[step]
        extra = [Path(r) for r in rest]
        print(json.dumps(fn(Path(root), Path(model_dir), int(threads), *extra)))
        return
    root = args.cache / f"scoring-{args.rows}-{args.seed}"
    model_dir = root / "models" / "churn"
    figures: dict = {"cores": os.cpu_count(), "threads": args.threads,
                     "load_avg_start": round(os.getloadavg()[0], 2)}
    figures.update(ensure_store(root, args.rows, args.seed))
    if not args.skip_train or not (model_dir / "metadata.json").is_file():
        print(f"training on {args.train_rows:,} rows ...", file=sys.stderr)
        figures.update(train(root, model_dir, args.train_rows, args.threads))
    print("scoring all subscribers in a child process ...", file=sys.stderr)
    figures.update(_child("score", str(root), str(model_dir), str(args.threads)))
    all_ = _child("score_all", str(root), str(model_dir), str(args.threads), str(root / "scores.parquet"))
    figures.update(score_all_s=all_["score_all_s"], score_all_peak_rss_mb=all_["peak_rss_mb"])
    figures.update(lookup(root, model_dir))
    figures["load_avg_end"] = round(os.getloadavg()[0], 2)  # the machine may be shared: see both
    targets = [("features + scoring (s)", figures["features_and_scoring_s"], 10),
               ("peak RSS of scoring (MB)", figures["peak_rss_mb"], 4096),
               ("training on train rows (s)", figures.get("train_s"), 120),
               ("warm lookup, median (ms)", figures["lookup_warm_ms"], 50)]
    for name, value, target in targets:
        verdict = "n/a" if value is None else ("ok" if value < target else "MISSED")
        print(f"{name:32s} {value!s:>10}   target < {target:<6} {verdict}")
    print(f"{'reading the Parquet tables (s)':32s} {figures['read_s']:>10}")
    print(f"{'score --all end to end (s)':32s} {figures['score_all_s']:>10}")
    cpu = (figures["features_and_scoring_cpu_s"], figures.get("train_cpu_s"), figures["lookup_warm_cpu_ms"])
    print(f"{'CPU time: scoring s, train s, lookup ms':40s} {cpu}")
    print(f"{'load average (start, end)':32s} {figures['load_avg_start']:>5} {figures['load_avg_end']:>5}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
