"""Offline-engine benchmark: does `ask` cite a gold passage, and how fast does it answer?

Ingests ../shared/seeds into a temp data dir (or reuses --data-dir), generates a small subscriber
base, then asks every question of bench/data/retrieval_eval.jsonl through the real Assistant
(offline engine) and reports, per language, the share of answers citing a passage that contains a
gold substring, plus warm latency of playbook answers and of customer-handling answers.

Usage: python bench/ask.py [--data-dir DIR] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.evaluation import SEEDS, hit_rank, language_group, load_eval  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


def main() -> int:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()

    from assistant.agent import Assistant
    from assistant.config import Settings
    from assistant.services import Services
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="retention-ask-"))
    settings = Settings(data_dir=data_dir, playbook_dirs=[SEEDS], _env_file=None)
    services = Services(settings)
    services.knowledge.ingest([SEEDS], progress=sys.stderr.isatty())
    store = SubscriberStore(data_dir)
    if not store.exists():
        write_generated(store, rows=2000, seed=7, progress=False)
    services.warm_knowledge()
    assistant = Assistant(services)

    items = load_eval()
    hits: dict[str, list[float]] = {}
    playbook_ms: list[float] = []
    assistant.ask(items[0]["query"])  # warm-up
    for item in items:
        started = time.perf_counter()
        reply = assistant.ask(item["query"], role="agent")
        playbook_ms.append((time.perf_counter() - started) * 1000)
        rank = hit_rank(reply.citations, item["gold"])
        for group in {language_group(item["lang"]), item["lang"]}:
            hits.setdefault(group, []).append(1.0 if rank is not None else 0.0)
        if args.show_misses and rank is None:
            print(f"MISS {item['id']} {item['query']}", file=sys.stderr)

    ids = [s.subscriber_id for s in store.find(limit=20).items]
    customer_ms: list[float] = []
    for i, sid in enumerate(ids):
        question = f"{sid} 合约快到期了，想转网，怎么处理？" if i % 2 == 0 else f"How should I handle subscriber {sid}?"
        started = time.perf_counter()
        assistant.ask(question, role="agent")
        customer_ms.append((time.perf_counter() - started) * 1000)

    figures = {
        "questions": len(items),
        "cites_gold_passage": {g: round(statistics.mean(v), 3) for g, v in sorted(hits.items())},
        "playbook_answer_ms": {"p50": _pct(playbook_ms, 0.5), "p95": _pct(playbook_ms, 0.95)},
        "customer_answer_ms": {"p50": _pct(customer_ms, 0.5), "p95": _pct(customer_ms, 0.95)},
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
