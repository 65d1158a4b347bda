"""Retrieval benchmark: ingest ../shared/seeds into a temp dir, then Recall@5 / MRR@10 per language,
query latency p50/p95 (warm), cold and warm ingest time.

Usage: python bench/retrieval.py [--data-dir DIR] [--model MODEL] [--show-misses]
With --data-dir an existing index is reused (cold ingest is then not measured).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embeddings import make_embedder  # noqa: E402
from knowledge.evaluation import SEEDS, evaluate, load_eval  # noqa: E402


def main() -> int:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--model", default="bundled:multilingual-e5-small")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    items = load_eval()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="retention-bench-"))
    kb = KnowledgeBase(data_dir, make_embedder(args.model))
    figures: dict = {"seeds": str(SEEDS), "questions": len(items)}
    started = time.perf_counter()
    report = kb.ingest([SEEDS], progress=sys.stderr.isatty())
    figures["ingest_first_s"] = round(time.perf_counter() - started, 2)
    figures["ingest_first_embedded"] = report.embedded
    figures["chunks"] = report.total_chunks
    started = time.perf_counter()
    kb.ingest([SEEDS])
    figures["ingest_warm_unchanged_s"] = round(time.perf_counter() - started, 3)
    # A fresh index that reuses the persistent embedding cache (e.g. after --prune or a rebuild).
    kb.warm()
    for item in items[:5]:  # warm-up queries, not measured
        kb.search(item["query"], k=10)
    figures.update(evaluate(kb, items, show_misses=args.show_misses))
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
