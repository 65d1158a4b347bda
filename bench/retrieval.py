"""Retrieval benchmark: ingest ../shared/seeds into a temp dir, then Recall@5 / MRR@10 per language,
query latency p50/p95 (warm), cold and warm ingest time.

Usage: python bench/retrieval.py [--data-dir DIR] [--model MODEL] [--show-misses]
With --data-dir an existing index is reused (cold ingest is then not measured).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embeddings import make_embedder  # noqa: E402
from knowledge.normalize import clean_text, index_form  # noqa: E402

EVAL_FILE = ROOT / "bench" / "data" / "retrieval_eval.jsonl"
SEEDS = Path(os.environ.get("RETENTION_SEEDS_DIR", ROOT.parent / "shared" / "seeds"))


def load_eval(path: Path = EVAL_FILE) -> list[dict]:
    """The evaluation questions, one JSON object per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm(text: str) -> str:
    return "".join(index_form(clean_text(text).text).split())


def hit_rank(results: list, gold: list[str]) -> int | None:
    """1-based rank of the first result containing a gold substring, or None."""
    golds = [_norm(g) for g in gold]
    for rank, passage in enumerate(results, 1):
        text = _norm(passage.text)
        if any(g and g in text for g in golds):
            return rank
    return None


def language_group(lang: str) -> str:
    """zh and zh-hant are reported together as zh (and zh-hant also on its own)."""
    return "en" if lang == "en" else "zh"


def evaluate(kb: KnowledgeBase, items: list[dict], show_misses: bool = False) -> dict:
    """Recall@5 and MRR@10 per language group, plus warm latency figures."""
    per: dict[str, dict[str, list[float]]] = {}
    latencies: list[float] = []
    for item in items:
        started = time.perf_counter()
        results = kb.search(item["query"], k=10)
        latencies.append((time.perf_counter() - started) * 1000)
        rank = hit_rank(results, item["gold"])
        for group in {language_group(item["lang"]), item["lang"]}:
            stats = per.setdefault(group, {"r5": [], "mrr": []})
            stats["r5"].append(1.0 if rank is not None and rank <= 5 else 0.0)
            stats["mrr"].append(1.0 / rank if rank is not None else 0.0)
        if show_misses and (rank is None or rank > 5):
            print(f"MISS {item['id']} rank={rank} {item['query']}", file=sys.stderr)
            for p in results[:3]:
                print(f"      {p.source[:3]} {p.section[:30]} | {p.text[:70]!r}", file=sys.stderr)
    latencies.sort()
    return {
        "per_language": {
            g: {"n": len(s["r5"]), "recall@5": round(statistics.mean(s["r5"]), 3),
                "mrr@10": round(statistics.mean(s["mrr"]), 3)}
            for g, s in sorted(per.items())
        },
        "latency_ms": {
            "p50": round(latencies[len(latencies) // 2], 2),
            "p95": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 2),
            "max": round(latencies[-1], 2),
        },
    }


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
