"""Retrieval evaluation: questions with gold substrings, hit ranks, Recall@5 and MRR@10 per language.

Used by bench/retrieval.py, bench/ask.py and the end-to-end tests on the real seeds.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from knowledge.normalize import clean_text, index_form

ROOT = Path(__file__).resolve().parents[1]
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


def evaluate(kb: Any, items: list[dict], show_misses: bool = False) -> dict:
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
