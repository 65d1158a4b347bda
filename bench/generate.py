"""Time `retention data generate` for 1,000,000 subscribers: rows/s, seconds, peak RSS.

Usage: .venv/bin/python bench/generate.py [--rows N] [--seed S] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    """Generate into a temporary data dir and print the figures as one JSON line."""
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, default=None, help="Write here and keep the data.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp)
        started = time.perf_counter()
        report = write_generated(SubscriberStore(data_dir), args.rows, args.seed)
        seconds = time.perf_counter() - started
        sizes = {t: round(p.stat().st_size / 1e6, 1) for t, p in report.files.items()}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({
        "rows": report.rows,
        "usage_rows": report.usage_rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(report.rows / seconds),
        "peak_rss_mb": round(peak_mb),
        "churn_rate": report.churn_rate,
        "file_mb": sizes,
    }))


if __name__ == "__main__":
    main()
