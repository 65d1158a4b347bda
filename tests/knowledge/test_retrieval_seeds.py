"""End to end on the real seeds with the default (bundled multilingual) model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow


def _texts(passages) -> str:
    return "\n".join(p.text for p in passages)


def test_chinese_question_finds_the_renewal_offer_order(seeds_kb):
    hits = seeds_kb.search("高端客户里高危的，合约快到期了，提前多久联系、优惠按什么顺序推？", k=5)
    assert "到期前3～6个月，按顺序推荐存费送费" in _texts(hits)
    assert hits[0].source == "004_16e451354110e96f.txt"


def test_traditional_question_matches_and_original_text_is_returned(seeds_kb):
    hits = seeds_kb.search("客戶流失分析的過程包括哪幾個步驟？", k=5)
    assert any(p.source.startswith("003_") for p in hits)
    sop = seeds_kb.search("客戶投訴受理與記錄怎麼做", k=5)
    top = next(p for p in sop if p.source.startswith("001_"))
    assert "客戶" in top.text  # traditional characters are returned as written
    assert "(yè)" not in top.text  # artefacts are gone from the display text too


def test_english_question_finds_chinese_passage(seeds_kb):
    hits = seeds_kb.search("How many days of zero activity before a diamond card customer is dispatched?", k=5)
    assert "钻石卡" in _texts(hits)


def test_every_passage_carries_source_file_and_section(seeds_kb):
    for passage in seeds_kb.search("拆机挽留", k=5):
        assert passage.source.endswith(".txt") and passage.id and passage.text
        assert passage.score > 0


def test_recall_on_the_evaluation_set(seeds_kb):
    from knowledge.evaluation import evaluate, load_eval

    figures = evaluate(seeds_kb, load_eval())
    per = figures["per_language"]
    assert per["zh"]["recall@5"] >= 0.85, per
    assert per["en"]["recall@5"] >= 0.60, per


def test_cli_search_json_and_batch(seeds_data_dir, tmp_path):
    env = {**os.environ, "RETENTION_DATA_DIR": str(seeds_data_dir)}
    exe = str(Path(sys.executable).with_name("retention"))
    single = subprocess.run([exe, "search", "沉默客户激活率", "--k", "3", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert single.returncode == 0, single.stderr
    results = json.loads(single.stdout)
    assert len(results) == 3
    assert set(results[0]) == {"id", "text", "source", "section", "score"}
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "query": "预存款率"}\n{"id": 7, "query": "campus churn"}\n', encoding="utf-8")
    out = subprocess.run([exe, "search", "--batch", str(batch), "--k", "10", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert all(len(line["results"]) == 10 for line in lines)
